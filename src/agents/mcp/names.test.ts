import { describe, expect, it } from "vitest";
import { needsApproval } from "./approval";
import { isToolServerId, modelToolName, parseServerToolReference } from "./names";

describe("MCP tool names", () => {
  it("reads an agent's server entries and nothing else", () => {
    expect(parseServerToolReference("notes:lookup")).toEqual({ serverId: "notes", toolName: "lookup" });
    expect(parseServerToolReference("notes-2:*")).toEqual({ serverId: "notes-2", toolName: "*" });
    for (const entry of ["get_time", "notes:", ":lookup", "no__pe:x", "a:b:c", "notes:has space"]) {
      expect(parseServerToolReference(entry), entry).toBeUndefined();
    }
  });

  it("keeps `__` a separator: a server id never contains it, nor starts or ends with `_`", () => {
    expect(isToolServerId("my_notes")).toBe(true);
    for (const id of ["a__b", "_a", "a_", "a:b", "", "x".repeat(41)]) expect(isToolServerId(id), id).toBe(false);
    expect(modelToolName("my_notes", "add_note")).toBe("my_notes__add_note");
  });
});

describe("approval policy", () => {
  it("asks unless the server says read-only (auto); always and never say so themselves", () => {
    expect(needsApproval("auto", { readOnlyHint: true })).toBe(false);
    expect(needsApproval("auto", { readOnlyHint: false, idempotentHint: true })).toBe(true);
    expect(needsApproval("auto", undefined)).toBe(true);
    expect(needsApproval("always", { readOnlyHint: true })).toBe(true);
    expect(needsApproval("never", { destructiveHint: true })).toBe(false);
  });
});
