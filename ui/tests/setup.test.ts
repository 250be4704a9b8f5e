import { describe, expect, it } from "vitest";
import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import App from "../src/App.svelte";
import { MockBackend } from "../src/lib/mock-backend";
import { Router } from "../src/lib/router.svelte";

describe("Set up this device", () => {
  it("is what a fresh install shows; it checks every field, then opens My cases", async () => {
    const user = userEvent.setup();
    const backend = new MockBackend({ cases: 0, initialised: false });
    render(App, { backend, router: new Router() });
    expect(await screen.findByRole("heading", { level: 1, name: "Set up this device" })).toBeInTheDocument();
    expect(screen.getByTestId("sync-status")).toHaveTextContent("Not set up");

    await user.click(screen.getByRole("button", { name: "Set up this device" }));
    const summary = await screen.findByRole("alert");
    expect(within(summary).getAllByRole("link").map((a) => a.textContent)).toEqual([
      "Enter your full name",
      "Select your role",
      "Enter the device number your IT team gave this device",
      "Passphrase must be 8 characters or more",
    ]);

    await user.type(screen.getByLabelText("Your full name"), "Sam Patel");
    await user.click(screen.getByLabelText("Field officer"));
    await user.type(screen.getByLabelText("Device number"), "7");
    await user.type(screen.getByLabelText("Create a passphrase"), "three random words");
    await user.type(screen.getByLabelText("Confirm your passphrase"), "three random wordz");
    await user.click(screen.getByRole("button", { name: "Set up this device" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The passphrases do not match");
    // Neither passphrase field keeps what was typed after a failed attempt.
    expect(screen.getByLabelText("Create a passphrase")).toHaveValue("");
    expect(screen.getByLabelText("Confirm your passphrase", { exact: false })).toHaveValue("");

    await user.type(screen.getByLabelText("Create a passphrase"), "three random words");
    await user.type(screen.getByLabelText("Confirm your passphrase", { exact: false }), "three random words");
    await user.click(screen.getByRole("button", { name: "Set up this device" }));
    expect(await screen.findByRole("heading", { level: 1, name: "My cases" })).toBeInTheDocument();
    expect((await backend.device()).device_number).toBe(7);
    // The device now opens with that passphrase only.
    await backend.lock();
    await expect(backend.unlock("correct horse battery")).rejects.toMatchObject({ code: "wrong_passphrase" });
    await expect(backend.unlock("three random words")).resolves.toMatchObject({ person_name: "Sam Patel" });
  });
});
