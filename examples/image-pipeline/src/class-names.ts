// The model's classes, apart from the model: what a job that only reads scores needs, without
// loading onnxruntime and the weights (the quickstart and every pipeline process import the jobs; only a
// process that classifies loads the model).

/** The model's classes, in the order of its output (nsfwjs's NSFW_CLASSES, not exported by the package). */
export const classNames = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;
export type ClassName = (typeof classNames)[number];
/** One probability per class; they sum to 1 (the model ends in a softmax). */
export type Scores = Record<ClassName, number>;
