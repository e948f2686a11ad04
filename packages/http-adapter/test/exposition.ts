import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export type Families = ReturnType<typeof parsePrometheusTextFormat>;

/** A scrape parsed by a Prometheus text-format parser (it throws on any line that is not the format): families by name. */
export function parseExposition(text: string): Map<string, Families[number]> {
  return new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
}

/** The value of a family's sample with these labels (all of them), as a number. */
export function sample(families: Map<string, Families[number]>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.get(name);
  const found = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return found?.value === undefined ? undefined : Number(found.value);
}
