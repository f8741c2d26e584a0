// Errors in the shape Stripe's API returns them, so the SDK raises its typed errors:
// 400/404 → StripeInvalidRequestError (or StripeIdempotencyError), 401 → StripeAuthenticationError.

export type StripeErrorType = "invalid_request_error" | "idempotency_error" | "api_error";

export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  param?: string;
  code?: string;
  doc_url?: string;
}

export class StripeApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly body: StripeErrorBody,
    /** Whether an idempotency key keeps this answer: not for input rejected before the endpoint ran. */
    readonly replayable = true,
  ) {
    super(body.message);
  }

  toJSON() {
    return { error: this.body };
  }
}

const docUrl = (code: string) => `https://stripe.com/docs/error-codes/${code.replaceAll("_", "-")}`;

export function invalidRequest(message: string, options: { param?: string; code?: string; status?: number } = {}) {
  const { param, code, status = 400 } = options;
  return new StripeApiError(status, {
    type: "invalid_request_error",
    message,
    ...(param !== undefined ? { param } : {}),
    ...(code !== undefined ? { code, doc_url: docUrl(code) } : {}),
  });
}

/**
 * "No such customer: 'cus_123'": a 404 for the object the URL names, a 400 for one a
 * parameter names (the request, not the URL, is then what is wrong).
 */
export function resourceMissing(kind: string, id: string, param = "id") {
  return invalidRequest(`No such ${kind}: '${id}'`, {
    param,
    code: "resource_missing",
    status: param === "id" ? 404 : 400,
  });
}

/** Input rejected before the endpoint ran: an idempotency key does not keep it. */
export function parameterError(message: string, param: string | undefined, code?: string) {
  const error = invalidRequest(message, { ...(param !== undefined ? { param } : {}), ...(code ? { code } : {}) });
  return new StripeApiError(error.httpStatus, error.body, false);
}
