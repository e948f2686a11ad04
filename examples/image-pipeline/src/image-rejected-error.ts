import { NonRetryableError } from '@scalable-api/core';

/** Why an image was refused; the first word of the error message, so it survives serialization. */
export type ImageRejection =
  | 'IMAGE_UNSUPPORTED'
  | 'IMAGE_TYPE_MISMATCH'
  | 'IMAGE_CORRUPT'
  | 'IMAGE_TOO_LARGE'
  /** The moderation model flagged it and the policy is `refuse`. */
  | 'IMAGE_REFUSED';

/**
 * An image the pipeline will not process. Non-retryable: the same bytes fail the same way. Across
 * the job store only an error's name and message survive, so the reason leads the message
 * (`IMAGE_TOO_LARGE: ...`) and `reasonOf` reads it back.
 */
export class ImageRejectedError extends NonRetryableError {
  constructor(
    readonly reason: ImageRejection,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'ImageRejectedError';
  }
}

const reasons = /^(IMAGE_UNSUPPORTED|IMAGE_TYPE_MISMATCH|IMAGE_CORRUPT|IMAGE_TOO_LARGE|IMAGE_REFUSED): /;

/** The rejection reason of a (serialized) error message, if it is one. */
export function reasonOf(message: string): ImageRejection | undefined {
  return reasons.exec(message)?.[1] as ImageRejection | undefined;
}
