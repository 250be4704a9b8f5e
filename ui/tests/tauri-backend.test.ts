// The Tauri mapping for photos, places and the map: the command names and payloads the shell
// registers (src-tauri), the raw body and header of add_photo, and the two custom protocols.
import { beforeEach, describe, expect, it, vi } from "vitest";

const core = vi.hoisted(() => ({
  invoke: vi.fn<(cmd: string, args?: unknown, options?: unknown) => Promise<unknown>>(),
  // As Tauri spells it on Linux and macOS (Windows: http://fbphoto.localhost/).
  convertFileSrc: (path: string, protocol = "asset") => `${protocol}://localhost/${encodeURIComponent(path)}`,
}));
vi.mock("@tauri-apps/api/core", () => core);
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn(async () => () => {}) }));

import { tauriBackend } from "../src/lib/tauri-backend";
import { BackendError } from "../src/lib/backend";

beforeEach(() => {
  core.invoke.mockReset();
  core.invoke.mockResolvedValue(null);
});

describe("the Tauri backend: photos, places and the map", () => {
  it("calls each command with its payload", async () => {
    const b = tauriBackend();
    await b.photos("FH-2026-1-0001");
    await b.editPhoto({ case: "FH-2026-1-0001", photo: "ab", caption: "Yard", visit: "" });
    await b.fetchPhoto("FH-2026-1-0001", "ab");
    await b.findPlace("MB1 1AA");
    await b.mapInfo();
    expect(core.invoke.mock.calls).toEqual([
      ["photos", { case: "FH-2026-1-0001" }, undefined],
      ["edit_photo", { args: { case: "FH-2026-1-0001", photo: "ab", caption: "Yard", visit: "" } }, undefined],
      ["fetch_photo", { case: "FH-2026-1-0001", photo: "ab" }, undefined],
      ["find_place", { query: "MB1 1AA" }, undefined],
      ["map_info", undefined, undefined],
    ]);
  });

  it("sends a photo's bytes as the raw body, its arguments in the Fieldbook-Args header", async () => {
    const args = { case: "FH-2026-1-0001", file_name: "Kitchen – sink.jpg", visit: null, caption: "Sink" };
    const bytes = new Uint8Array([0xff, 0xd8, 0xff]);
    await tauriBackend().addPhoto(args, bytes);
    const [cmd, body, options] = core.invoke.mock.calls[0]!;
    expect(cmd).toBe("add_photo");
    expect(body).toBe(bytes);
    const header = (options as { headers: Record<string, string> }).headers["Fieldbook-Args"]!;
    expect(header).not.toMatch(/[^\x21-\x7e]/);
    expect(JSON.parse(decodeURIComponent(header))).toEqual(args);
  });

  it("turns a refusal into a BackendError with its code", async () => {
    core.invoke.mockRejectedValueOnce({ code: "heic_unsupported", message: "HEIC photos are not supported yet", field: "photo" });
    const e = await tauriBackend()
      .addPhoto({ case: "x", file_name: null, visit: null, caption: null }, new Uint8Array([1]))
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendError);
    expect((e as BackendError).code).toBe("heic_unsupported");
  });

  it("gives photo and tile addresses on the shell's protocols", () => {
    const b = tauriBackend();
    expect(b.photoUrl("10000000-0000-4000-8000-000000000001", "ab12", "thumb")).toBe(
      "fbphoto://localhost/10000000-0000-4000-8000-000000000001/ab12/thumb",
    );
    expect(b.tileUrl()).toBe("fbtiles://localhost/{z}/{x}/{y}");
  });
});
