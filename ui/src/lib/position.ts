// The device's own position (the webview's geolocation), asked for once with a time limit. Every
// way it can fail has a reason in plain words, and none of them is an error: there are always
// other ways to give a location (the map, the address list, typing it).

/** Where the device is, as the Geolocation API gives it. */
export interface Position {
  lat: number;
  lon: number;
  /**
   * Metres (95% confidence, as the browser reports it), at most `MAX_ACCURACY_M`; null when the
   * browser gave none that makes sense.
   */
  accuracy_m: number | null;
}

/**
 * The least precise accuracy the device keeps with a location (`fieldbook_core::Location` takes
 * 0 to 100 km and refuses more as `invalid_location`). A position found from the network alone
 * can be "to within 250 km"; rather than refuse it (and fail "Use my position" or "Create case"),
 * its accuracy is given as this limit. The point is still the best the device has, and an
 * accuracy of 100 km tells the officer it is only a rough one.
 */
export const MAX_ACCURACY_M = 100_000;

/** The browser's accuracy as the device takes it: capped at `MAX_ACCURACY_M`, none if nonsense. */
function accuracy(metres: number): number | null {
  return Number.isFinite(metres) && metres >= 0 ? Math.min(metres, MAX_ACCURACY_M) : null;
}

/** Why there is no position: no geolocation here, refused, not found, or too slow. */
export type PositionProblem = "unavailable" | "denied" | "not_found" | "timeout";

export type PositionResult = { ok: true; position: Position } | { ok: false; problem: PositionProblem };

/** How long to wait for a position (a cold GPS in a cellar may never answer). */
export const POSITION_TIMEOUT_MS = 15_000;

/**
 * The device's position now (or one at most a minute old), never rejecting; its accuracy is one
 * the device accepts with a case's location (see `MAX_ACCURACY_M`).
 */
export function currentPosition(timeoutMs = POSITION_TIMEOUT_MS): Promise<PositionResult> {
  const geo = typeof navigator === "undefined" ? undefined : navigator.geolocation;
  if (geo === undefined || typeof geo.getCurrentPosition !== "function") {
    return Promise.resolve({ ok: false, problem: "unavailable" });
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: PositionResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    // Our own time limit as well as the API's: some webviews never call back at all.
    const timer = setTimeout(() => done({ ok: false, problem: "timeout" }), timeoutMs + 1000);
    try {
      geo.getCurrentPosition(
        (p) =>
          done({
            ok: true,
            position: {
              lat: p.coords.latitude,
              lon: p.coords.longitude,
              accuracy_m: accuracy(p.coords.accuracy),
            },
          }),
        (e) =>
          done({
            ok: false,
            // 1 PERMISSION_DENIED, 2 POSITION_UNAVAILABLE, 3 TIMEOUT
            problem: e.code === 1 ? "denied" : e.code === 3 ? "timeout" : "not_found",
          }),
        { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 60_000 },
      );
    } catch {
      done({ ok: false, problem: "unavailable" });
    }
  });
}

/** Why there is no position, for the person holding the device. */
export function positionWords(problem: PositionProblem): string {
  switch (problem) {
    case "unavailable":
      return "This device cannot tell Fieldbook where it is";
    case "denied":
      return "Fieldbook is not allowed to use this device’s position. You can allow it in the device’s location settings";
    case "not_found":
      return "This device cannot find its position at the moment. Try again outside or near a window";
    case "timeout":
      return "Finding this device’s position took too long. Try again outside or near a window";
  }
}
