import "./styles/main.scss";
import { mount } from "svelte";
import App from "./App.svelte";
import type { Backend } from "./lib/backend";
import { MockBackend } from "./lib/mock-backend";
import { insideTauri, tauriBackend } from "./lib/tauri-backend";
import { Router, parseHash } from "./lib/router.svelte";

// Inside the desktop app the device API answers over Tauri IPC; in a plain browser
// (`npm run dev`) an in-memory mock device stands in (passphrase: "correct horse battery").
const backend: Backend = insideTauri() ? tauriBackend() : new MockBackend({ latencyMs: 150 });

document.body.classList.add("js-enabled", "govuk-frontend-supported");

const target = document.getElementById("app");
if (!target) throw new Error("index.html lacks #app");

export default mount(App, {
  target,
  props: { backend, router: new Router(parseHash(window.location.hash)) },
});
