/** The config of `core.fault`: TypeBox schema first (STYLE.md §4); defaults live here. */
import Type, { type Static } from 'typebox';

/** Share of eligible requests, as a float so `0.5` (one in 200) is expressible. */
const percent = Type.Number({
  minimum: 0,
  maximum: 100,
  default: 100,
  description: 'Share of eligible requests that get the fault, 0–100 (fractions allowed)',
});

/** Ten minutes: longer than any client waits, short enough to catch a seconds-for-ms typo. */
const MAX_MS = 600_000;

export const faultSchema = Type.Object(
  {
    delay: Type.Optional(
      Type.Object(
        {
          ms: Type.Integer({
            minimum: 0,
            maximum: MAX_MS,
            description: 'Added latency before the request goes on',
          }),
          jitterMs: Type.Integer({
            minimum: 0,
            maximum: MAX_MS,
            default: 0,
            description: 'Uniform spread of ± jitterMs around ms; the delay never goes below 0',
          }),
          percent,
        },
        { additionalProperties: false, description: 'Hold the request before it goes on' },
      ),
    ),
    abort: Type.Optional(
      Type.Object(
        {
          status: Type.Integer({
            minimum: 400,
            maximum: 599,
            default: 503,
            description: 'Status of the problem+json answer (code fault_injected)',
          }),
          percent,
          detail: Type.Optional(
            Type.String({ maxLength: 1024, description: "The problem document's `detail`" }),
          ),
        },
        { additionalProperties: false, description: 'Answer with a problem instead of going on' },
      ),
    ),
    when: Type.Optional(
      Type.Object(
        {
          header: Type.String({
            // RFC 9110 §5.6.2 token: what a field name may be.
            pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
            default: 'x-junction-fault',
            description:
              'Only requests carrying this header are eligible; a value of `delay` or `abort` picks that fault alone',
          }),
        },
        { additionalProperties: false, description: 'Without it, every request is eligible' },
      ),
    ),
  },
  { additionalProperties: false },
);

export type FaultConfig = Static<typeof faultSchema>;
