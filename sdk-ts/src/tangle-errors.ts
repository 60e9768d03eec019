/**
 * The Tangle client's errors, with the same codes as Python's `faas_sdk.tangle`:
 *
 * FaaSError
 * └── TangleError              .code: NO_KEY, NOT_FOUND, INVALID_REQUEST, OPERATOR_ERROR, CONNECTION_ERROR, CHAIN_ERROR
 *     ├── ChainRejectedError   CHAIN_REJECTED: the node or the pallet refused an extrinsic
 *     ├── TangleTimeoutError   EXECUTION_TIMEOUT: no finalized result in time
 *     └── VerificationError    VERIFICATION_FAILED: `.reasons` lists every check that failed
 */

import { FaaSError, type FaaSErrorOptions } from "./errors.js";

/** Root of the Tangle client's errors: the chain or the operator failed us (`code` says which). */
export class TangleError extends FaaSError {}

/** The node refused the extrinsic, or the pallet failed it (`ServiceNotFound`, `TypeCheck`...). */
export class ChainRejectedError extends TangleError {
  constructor(message: string, options: FaaSErrorOptions = {}) {
    super(message, { code: "CHAIN_REJECTED", ...options });
  }
}

/** No finalized result for the call within the timeout. */
export class TangleTimeoutError extends TangleError {
  constructor(message: string, options: FaaSErrorOptions = {}) {
    super(message, { code: "EXECUTION_TIMEOUT", ...options });
  }
}

/** The operator's result does not verify against the chain; `reasons` (and `details.reasons`) say why. */
export class VerificationError extends TangleError {
  readonly reasons: string[];

  constructor(reasons: readonly string[], options: FaaSErrorOptions = {}) {
    super("the result does not verify: " + reasons.join("; "), {
      code: "VERIFICATION_FAILED",
      details: { reasons: [...reasons] },
      ...options,
    });
    this.reasons = [...reasons];
  }
}
