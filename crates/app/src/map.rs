//! What the map shows: the offline basemap pack an administrator loads (MBTiles, read by
//! `fieldbook_store::basemap`), tiles from the council's tile server only when the setting
//! `map.tile_url` names one, and the ward boundaries loaded on the device.

use std::path::Path;

use fieldbook_store::basemap::{self, Basemap, BasemapInfo};

use crate::dto::{BasemapDto, MapDto};
use crate::photos::TILE_URL;
use crate::{AppError, AppResult, Ctx};

fn basemap_dto(info: &BasemapInfo) -> BasemapDto {
    BasemapDto {
        name: info.name.clone(),
        format: info.format.clone(),
        min_zoom: info.min_zoom,
        max_zoom: info.max_zoom,
        bounds: info.bounds,
        center: info.center,
        attribution: info.attribution.clone(),
    }
}

impl Ctx {
    fn with_basemap<T>(&self, f: impl FnOnce(Option<&Basemap>) -> AppResult<T>) -> AppResult<T> {
        let mut slot = self.basemap.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = basemap::open_basemap(self.data_dir())?;
        }
        f(slot.as_ref())
    }
}

/// Check an MBTiles raster pack and make it this device's basemap (replacing any before).
pub fn load_basemap(ctx: &Ctx, file: &Path) -> AppResult<BasemapDto> {
    if !ctx.is_initialised() {
        return Err(fieldbook_store::StoreError::NotInitialised {
            dir: ctx.data_dir().display().to_string(),
        }
        .into());
    }
    let mut slot = ctx.basemap.lock().unwrap_or_else(|p| p.into_inner());
    // Closed first: the file is replaced under it.
    *slot = None;
    let info = basemap::load_basemap(ctx.data_dir(), file)?;
    Ok(basemap_dto(&info))
}

/// The basemap, whether online tiles are configured, and the wards, for drawing the map.
pub fn map_info(ctx: &Ctx) -> AppResult<MapDto> {
    let (online_tiles, wards) = ctx.with_store(|s| {
        Ok((
            s.setting(TILE_URL)?.is_some(),
            s.wards()?.map(|w| w.to_geojson()),
        ))
    })?;
    let basemap = ctx.with_basemap(|b| Ok(b.map(|b| basemap_dto(b.info()))))?;
    Ok(MapDto {
        basemap,
        online_tiles,
        wards,
    })
}

/// One map tile (XYZ numbering) and its MIME type: from the basemap pack, else from the
/// council's tile server when one is configured (and the device is unlocked, since the setting
/// is in its database); `None` when neither has it. Nothing is asked of any server otherwise.
pub fn map_tile(ctx: &Ctx, z: u8, x: u32, y: u32) -> AppResult<Option<(Vec<u8>, String)>> {
    let local = ctx.with_basemap(|b| {
        Ok(match b {
            Some(b) => b.tile(z, x, y)?.map(|t| (t, b.info().mime().to_string())),
            None => None,
        })
    })?;
    if local.is_some() {
        return Ok(local);
    }
    let template = match ctx.with_store(|s| Ok(s.setting(TILE_URL)?)) {
        Ok(Some(t)) => t,
        Ok(None) | Err(AppError::Locked) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(fieldbook_client::fetch_tile(&template, z, x, y)?)
}
