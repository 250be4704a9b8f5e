// Client-side routing in a few lines: the route lives in the URL hash (works when Tauri loads
// files from disk and in the dev server) and in a rune-backed store the App reads.
export type Route =
  | { name: "cases" }
  | { name: "new-case" }
  | { name: "case"; reference: string }
  | { name: "edit-case"; reference: string }
  | { name: "visit"; reference: string; visit: string }
  | { name: "section"; reference: string; visit: string; section: string }
  | { name: "check"; reference: string; visit: string }
  | { name: "submitted"; reference: string }
  | { name: "sign-in" };


export function parseHash(hash: string): Route {
  if (hash === "#/sign-in") return { name: "sign-in" };
  const parts = hash.replace(/^#\/?/, "").split("/").map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] !== "cases" || parts.length < 2 || parts[1] === "") return { name: "cases" };
  if (parts.length === 2 && parts[1] === "new") return { name: "new-case" };
  const reference = parts[1]!;
  const rest = parts.slice(2);
  if (rest.length === 0) return { name: "case", reference };
  if (rest.length === 1 && rest[0] === "edit") return { name: "edit-case", reference };
  if (rest.length === 1 && rest[0] === "submitted") return { name: "submitted", reference };
  if (rest[0] === "visits" && rest[1]) {
    const visit = rest[1];
    if (rest.length === 2) return { name: "visit", reference, visit };
    if (rest.length === 3 && rest[2] === "check") return { name: "check", reference, visit };
    if (rest.length === 4 && rest[2] === "sections" && rest[3]) {
      return { name: "section", reference, visit, section: rest[3] };
    }
  }
  return { name: "cases" };
}

export function hrefFor(route: Route): string {
  const e = encodeURIComponent;
  switch (route.name) {
    case "cases":
      return "#/cases";
    case "sign-in":
      return "#/sign-in";
    case "new-case":
      return "#/cases/new";
    case "case":
      return `#/cases/${e(route.reference)}`;
    case "edit-case":
      return `#/cases/${e(route.reference)}/edit`;
    case "submitted":
      return `#/cases/${e(route.reference)}/submitted`;
    case "visit":
      return `#/cases/${e(route.reference)}/visits/${e(route.visit)}`;
    case "check":
      return `#/cases/${e(route.reference)}/visits/${e(route.visit)}/check`;
    case "section":
      return `#/cases/${e(route.reference)}/visits/${e(route.visit)}/sections/${e(route.section)}`;
  }
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
