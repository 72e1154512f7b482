// Dates as the API has them: created_at in UTC without offset, and `date` filters that are
// calendar days in Japan (JST, UTC+9, no daylight saving time).

const JST_OFFSET_MS = 9 * 60 * 60 * 1000;
const pad = (n) => String(n).padStart(2, '0');

function jstParts(ms) {
  const d = new Date(ms + JST_OFFSET_MS);
  return {
    y: d.getUTCFullYear(), m: pad(d.getUTCMonth() + 1), d: pad(d.getUTCDate()),
    hh: pad(d.getUTCHours()), mm: pad(d.getUTCMinutes()),
  };
}

/** Today in Japan as YYYY-MM-DD (the date picker's format). */
export function todayJst(now = Date.now()) {
  const p = jstParts(now);
  return `${p.y}-${p.m}-${p.d}`;
}

/** YYYY-MM-DD (date picker) to YYYYMMDD (the API's `date`), or '' when empty or malformed. */
export function toApiDate(value) {
  return /^\d{4}-\d{2}-\d{2}$/.test(value ?? '') ? value.replaceAll('-', '') : '';
}

/** The API's UTC created_at ("2023-01-03T12:00:00") as {iso, text} with text in JST. */
export function created(value) {
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(ms)) return { iso: '', text: String(value ?? '') };
  const p = jstParts(ms);
  return { iso: new Date(ms).toISOString(), text: `${p.y}-${p.m}-${p.d} ${p.hh}:${p.mm} JST` };
}
