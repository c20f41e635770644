// Turns stored Anthropic / OpenAI payloads into a readable conversation:
// system prompt, messages, tool calls, tool results and thinking/reasoning.

export type Part =
  | { kind: "text"; text: string }
  | { kind: "thinking"; text: string }
  | { kind: "tool_call"; name: string; id?: string; input: string }
  | { kind: "tool_result"; id?: string; text: string; isError?: boolean }
  | { kind: "image"; text: string };

export interface Turn { role: string; parts: Part[] }

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v, null, 2));

function pretty(v: unknown): string {
  if (typeof v === "string") {
    try { return JSON.stringify(JSON.parse(v), null, 2); } catch { return v; }
  }
  return JSON.stringify(v ?? {}, null, 2);
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((c) => (isObj(c) ? str(c.text ?? c.output ?? c.content ?? "") : str(c))).join("\n");
  return str(content);
}

/** Anthropic content blocks (request or response). */
function anthropicParts(content: unknown): Part[] {
  if (typeof content === "string") return [{ kind: "text", text: content }];
  if (!Array.isArray(content)) return [];
  const parts: Part[] = [];
  for (const b of content) {
    if (!isObj(b)) continue;
    switch (b.type) {
      case "text": parts.push({ kind: "text", text: str(b.text) }); break;
      case "thinking": parts.push({ kind: "thinking", text: str(b.thinking) }); break;
      case "redacted_thinking": parts.push({ kind: "thinking", text: "[redacted thinking]" }); break;
      case "tool_use": case "server_tool_use": parts.push({ kind: "tool_call", name: str(b.name), id: str(b.id), input: pretty(b.input) }); break;
      case "tool_result": parts.push({ kind: "tool_result", id: str(b.tool_use_id), text: textOf(b.content), isError: b.is_error === true }); break;
      case "image": case "document": parts.push({ kind: "image", text: `[${b.type}]` }); break;
      default: parts.push({ kind: "text", text: pretty(b) });
    }
  }
  return parts;
}

/** OpenAI Chat Completions message. */
function chatMessage(m: Json): Turn {
  const parts: Part[] = [];
  if (typeof m.reasoning_content === "string" && m.reasoning_content) parts.push({ kind: "thinking", text: m.reasoning_content });
  if (m.role === "tool") {
    parts.push({ kind: "tool_result", id: str(m.tool_call_id), text: textOf(m.content) });
  } else if (typeof m.content === "string") {
    if (m.content) parts.push({ kind: "text", text: m.content });
  } else if (Array.isArray(m.content)) {
    for (const c of m.content) {
      if (!isObj(c)) continue;
      if (c.type === "text" || c.type === "input_text" || c.type === "output_text") parts.push({ kind: "text", text: str(c.text) });
      else if (c.type === "image_url" || c.type === "input_image") parts.push({ kind: "image", text: "[image]" });
      else parts.push({ kind: "text", text: pretty(c) });
    }
  }
  if (Array.isArray(m.tool_calls)) {
    for (const t of m.tool_calls) {
      if (!isObj(t)) continue;
      const fn = isObj(t.function) ? t.function : {};
      parts.push({ kind: "tool_call", name: str(fn.name), id: str(t.id), input: pretty(fn.arguments) });
    }
  }
  return { role: str(m.role), parts };
}

/** OpenAI Responses input/output items. */
function responsesItems(items: unknown[], defaultRole: string): Turn[] {
  const turns: Turn[] = [];
  for (const it of items) {
    if (!isObj(it)) continue;
    if (it.type === "function_call" || it.type === "custom_tool_call") {
      turns.push({ role: "assistant", parts: [{ kind: "tool_call", name: str(it.name), id: str(it.call_id), input: pretty(it.arguments ?? it.input) }] });
    } else if (it.type === "function_call_output" || it.type === "custom_tool_call_output") {
      turns.push({ role: "tool", parts: [{ kind: "tool_result", id: str(it.call_id), text: textOf(it.output) }] });
    } else if (it.type === "reasoning") {
      const summary = Array.isArray(it.summary) ? it.summary.map((s) => (isObj(s) ? str(s.text) : "")).join("\n") : "";
      turns.push({ role: "assistant", parts: [{ kind: "thinking", text: summary || "[reasoning]" }] });
    } else if (it.type === "message" || it.role) {
      turns.push(chatMessage({ ...it, role: it.role ?? defaultRole }));
    }
  }
  return turns;
}

/** Parses the request body into turns (system first). */
export function parseRequest(bodyText: string): Turn[] {
  let body: unknown;
  try { body = JSON.parse(bodyText); } catch { return []; }
  if (!isObj(body)) return [];
  const turns: Turn[] = [];
  if (body.system !== undefined) {
    turns.push({ role: "system", parts: typeof body.system === "string" ? [{ kind: "text", text: body.system }] : anthropicParts(body.system) });
  }
  if (typeof body.instructions === "string" && body.instructions) turns.push({ role: "system", parts: [{ kind: "text", text: body.instructions }] });
  if (Array.isArray(body.messages)) {
    const anthropicStyle = body.messages.some((m) => isObj(m) && Array.isArray(m.content) && m.content.some((c) => isObj(c) && ["tool_use", "tool_result", "thinking"].includes(str(c.type))))
      || body.system !== undefined || typeof body.max_tokens === "number" && !("n" in body) && body.messages.every((m) => isObj(m) && m.role !== "system" && m.role !== "tool");
    for (const m of body.messages) {
      if (!isObj(m)) continue;
      turns.push(anthropicStyle && !("tool_calls" in m) ? { role: str(m.role), parts: anthropicParts(m.content) } : chatMessage(m));
    }
  }
  if (typeof body.input === "string") turns.push({ role: "user", parts: [{ kind: "text", text: body.input }] });
  else if (Array.isArray(body.input)) turns.push(...responsesItems(body.input, "user"));
  return turns;
}

/** Parses the response body (JSON or SSE) into the assistant's turns. */
export function parseResponse(bodyText: string): Turn[] {
  const trimmed = bodyText.trimStart();
  if (trimmed.startsWith("{")) {
    try { return fromResponseJson(JSON.parse(trimmed)); } catch { return []; }
  }
  if (trimmed.startsWith("event:") || trimmed.startsWith("data:")) return fromSse(bodyText);
  return [];
}

function fromResponseJson(body: unknown): Turn[] {
  if (!isObj(body)) return [];
  if (Array.isArray(body.content)) return [{ role: str(body.role) || "assistant", parts: anthropicParts(body.content) }];
  if (Array.isArray(body.choices)) {
    const c = body.choices[0];
    if (isObj(c) && isObj(c.message)) return [chatMessage({ ...c.message, role: c.message.role ?? "assistant" })];
  }
  if (Array.isArray(body.output)) return mergeAssistant(responsesItems(body.output, "assistant"));
  if (isObj(body.error)) return [{ role: "error", parts: [{ kind: "text", text: str(body.error.message ?? body.error) }] }];
  return [];
}

function mergeAssistant(turns: Turn[]): Turn[] {
  const parts: Part[] = [];
  for (const t of turns) parts.push(...t.parts);
  return parts.length ? [{ role: "assistant", parts }] : [];
}

function fromSse(text: string): Turn[] {
  const events: Json[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    const data = line.slice(5).trim();
    if (!data || data === "[DONE]") continue;
    try { const v = JSON.parse(data); if (isObj(v)) events.push(v); } catch { /* partial */ }
  }
  // Responses API: the completed event has the whole output.
  for (const e of events) {
    if ((e.type === "response.completed" || e.type === "response.done") && isObj(e.response)) return fromResponseJson(e.response);
  }
  // Anthropic Messages stream.
  if (events.some((e) => e.type === "message_start" || e.type === "content_block_start")) {
    const blocks: Json[] = [];
    const partialJson: string[] = [];
    for (const e of events) {
      const index = typeof e.index === "number" ? e.index : 0;
      if (e.type === "content_block_start" && isObj(e.content_block)) { blocks[index] = { ...e.content_block }; partialJson[index] = ""; }
      if (e.type === "content_block_delta" && isObj(e.delta)) {
        const b = blocks[index] ?? (blocks[index] = { type: "text", text: "" });
        const d = e.delta;
        if (d.type === "text_delta") b.text = str(b.text) + str(d.text);
        else if (d.type === "thinking_delta") b.thinking = str(b.thinking) + str(d.thinking);
        else if (d.type === "input_json_delta") partialJson[index] = (partialJson[index] ?? "") + str(d.partial_json);
      }
    }
    blocks.forEach((b, i) => { if (b && b.type === "tool_use" && partialJson[i]) b.input = partialJson[i]; });
    return [{ role: "assistant", parts: anthropicParts(blocks.filter(Boolean)) }];
  }
  // OpenAI chat chunks.
  let content = "";
  let reasoning = "";
  const calls: Array<{ id: string; name: string; args: string }> = [];
  let textDelta = "";
  for (const e of events) {
    if (e.type === "response.output_text.delta") textDelta += str(e.delta);
    if (!Array.isArray(e.choices)) continue;
    const c = e.choices[0];
    if (!isObj(c) || !isObj(c.delta)) continue;
    const d = c.delta;
    if (typeof d.content === "string") content += d.content;
    if (typeof d.reasoning_content === "string") reasoning += d.reasoning_content;
    if (Array.isArray(d.tool_calls)) {
      for (const t of d.tool_calls) {
        if (!isObj(t)) continue;
        const i = typeof t.index === "number" ? t.index : 0;
        const call = calls[i] ?? (calls[i] = { id: "", name: "", args: "" });
        if (typeof t.id === "string") call.id = t.id;
        if (isObj(t.function)) { call.name += str(t.function.name ?? ""); call.args += str(t.function.arguments ?? ""); }
      }
    }
  }
  const parts: Part[] = [];
  if (reasoning) parts.push({ kind: "thinking", text: reasoning });
  if (content || textDelta) parts.push({ kind: "text", text: content || textDelta });
  for (const c of calls) if (c) parts.push({ kind: "tool_call", name: c.name, id: c.id, input: pretty(c.args) });
  return parts.length ? [{ role: "assistant", parts }] : [];
}
