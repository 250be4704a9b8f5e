import "./styles/main.scss";
import { mount } from "svelte";
import App from "./App.svelte";
import type { Backend } from "./lib/backend";
import { insideTauri, tauriBackend } from "./lib/tauri-backend";
import { Router, parseHash } from "./lib/router.svelte";

// Inside the desktop app the device API answers over Tauri IPC; in a plain browser
// (`npm run dev`) an in-memory mock device stands in (passphrase: "correct horse battery").
// The mock is loaded only then, so the app's own bundle does not carry it.
async function backendFor(): Promise<Backend> {
  if (insideTauri()) return tauriBackend();
  const { MockBackend } = await import("./lib/mock-backend");
  return new MockBackend({ latencyMs: 150 });
}

document.body.classList.add("js-enabled", "govuk-frontend-supported");

const target = document.getElementById("app");
if (!target) throw new Error("index.html lacks #app");

void backendFor().then((backend) =>
  mount(App, {
    target,
    props: { backend, router: new Router(parseHash(window.location.hash)) },
  }),
);
