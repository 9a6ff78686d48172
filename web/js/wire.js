// The wire: frames in and out. Numbers are read from the frame's own
// text (JSON.parse's source access), so a price or balance is never
// rounded through a binary float: integers that fit stay numbers, every
// other number stays the exact text the engine wrote.

export function parseFrame(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value !== 'number' || !context || context.source === undefined) return value;
    if (Number.isSafeInteger(value) && /^-?\d+$/.test(context.source)) return value;
    return context.source;
  });
}

/** A command frame; decimals are sent as strings, which the engine reads exactly. */
export function commandFrame(cmd, params, requestId) {
  return JSON.stringify({ cmd, ...params, request_id: requestId });
}
