// Client-side routing in a few lines: the route lives in the URL hash (works when Tauri loads
// files from disk and in the dev server) and in a rune-backed store the App reads.
export type Route = { name: "cases" } | { name: "case"; reference: string };

export function parseHash(hash: string): Route {
  const m = /^#\/cases\/([^/?#]+)$/.exec(hash);
  if (m?.[1]) return { name: "case", reference: decodeURIComponent(m[1]) };
  return { name: "cases" };
}

export function hrefFor(route: Route): string {
  return route.name === "case" ? `#/cases/${encodeURIComponent(route.reference)}` : "#/cases";
}

export class Router {
  route = $state<Route>({ name: "cases" });

  constructor(initial: Route = { name: "cases" }) {
    this.route = initial;
  }

  navigate(route: Route): void {
    this.route = route;
    if (typeof window !== "undefined" && window.location.hash !== hrefFor(route)) {
      history.pushState(null, "", hrefFor(route));
    }
  }

  /** Follow the browser's back and forward buttons; returns the function that stops it. */
  listen(): () => void {
    const onPop = () => {
      // Only "#/..." hashes are routes; "#passphrase" and the like are in-page links.
      if (window.location.hash === "" || window.location.hash.startsWith("#/")) {
        this.route = parseHash(window.location.hash);
      }
    };
    window.addEventListener("popstate", onPop);
    window.addEventListener("hashchange", onPop);
    return () => {
      window.removeEventListener("popstate", onPop);
      window.removeEventListener("hashchange", onPop);
    };
  }
}
