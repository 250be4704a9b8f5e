// Accessibility checks with axe-core on what a test rendered. jsdom has no layout, so the
// rules that need one (colour contrast) are left to the end-to-end tests in the real window.
import axe from "axe-core";
import { expect } from "vitest";

export async function expectAccessible(root: Element = document.body): Promise<void> {
  const results = await axe.run(root, {
    rules: {
      "color-contrast": { enabled: false },
      // A component rendered on its own is not inside a page's landmarks.
      region: { enabled: false },
    },
  });
  expect(results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
}
