import { field, h, uid } from "./dom";

/** A modal <dialog> with a title, body and actions; resolves with the button value or "" when closed. */
export function modal(title: string, body: HTMLElement, actions: Array<{ label: string; value: string; kind?: string }>, wide = false): Promise<string> {
  const titleId = uid("dlg");
  const form = h("form", { method: "dialog" },
    h("h2", { id: titleId }, title), body,
    h("div", { className: "dialog-actions" }, actions.map((a) =>
      h("button", { type: "submit", value: a.value, className: a.kind ?? "" }, a.label))));
  const dialog = h("dialog", { "aria-labelledby": titleId, className: wide ? "wide" : "" }, form);
  document.body.appendChild(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => { resolve(dialog.returnValue); dialog.remove(); }, { once: true });
  });
}

export async function confirmDialog(title: string, message: string, confirmLabel: string): Promise<boolean> {
  return (await modal(title, h("p", null, message), [{ label: "Cancel", value: "cancel", kind: "ghost" }, { label: confirmLabel, value: "ok", kind: "danger" }])) === "ok";
}

export async function promptDialog(title: string, label: string, initial: string): Promise<string | null> {
  const input = h("input", { type: "text", value: initial, required: true, maxlength: 100, name: "value" });
  const body = field(label, input);
  const result = modal(title, body, [{ label: "Cancel", value: "cancel", kind: "ghost" }, { label: "Save", value: "ok" }]);
  input.select();
  return (await result) === "ok" ? input.value.trim() : null;
}
