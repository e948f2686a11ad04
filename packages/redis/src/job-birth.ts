/**
 * A job's birth, the hash field `b`: its created at and its seq (the listing's order) packed as
 * `<created at>\t<seq>`, one field for two (lua/context.lua). A job created before births has
 * them as fields of their own (`ca`, `cs`), and a claim's reply carries either the birth or the
 * plain created at: the created at is the text up to the tab, or all of it.
 */
export function createdAtOf(birth: string): number {
  const tab = birth.indexOf('\t');
  return Number(tab < 0 ? birth : birth.slice(0, tab));
}
