// Stripe's `expand[]`: properties that hold an id can be asked for as the whole object, up
// to four levels deep (`items.data.price.product`). Which properties expand is fixed per
// object type, as in Stripe's API reference, so paths are checked before a request changes
// anything: a bad path never leaves a half-done request behind.
import { invalidRequest } from "./stripe-sandbox-errors.ts";

export type ExpandableType =
  | "price"
  | "product"
  | "customer"
  | "subscription"
  | "subscription_item"
  | "invoice"
  | "line_item"
  | "checkout.session"
  | "billing_portal.session"
  | "event";

/** What an endpoint answers with: one object, or a list of them. */
export type ResponseShape = ExpandableType | { list: ExpandableType };

/** `expand`: an id that can become the object; `into`: already an object, to expand within; `list`: a list object. */
type Edge = { expand: ExpandableType } | { into: ExpandableType } | { list: ExpandableType };

const edges: Record<ExpandableType, Record<string, Edge>> = {
  price: { product: { expand: "product" } },
  product: { default_price: { expand: "price" } },
  customer: {},
  subscription: {
    customer: { expand: "customer" },
    latest_invoice: { expand: "invoice" },
    items: { list: "subscription_item" },
  },
  subscription_item: { price: { into: "price" } },
  invoice: { customer: { expand: "customer" }, lines: { list: "line_item" } },
  line_item: {},
  "checkout.session": {
    customer: { expand: "customer" },
    subscription: { expand: "subscription" },
    invoice: { expand: "invoice" },
  },
  "billing_portal.session": {},
  event: {},
};

const MAX_LEVELS = 4;

interface Step {
  property: string;
  /** The type to look the id up as, when this step expands. */
  expands: ExpandableType | null;
}

/** Checks every path against the response's shape; the steps to apply them later. */
export function planExpansion(shape: ResponseShape, paths: readonly string[]): Step[][] {
  return paths.map((path) => {
    const cannot = () => invalidRequest(`This property cannot be expanded (${path}).`, { param: "expand" });
    const steps: Step[] = [];
    let at: ResponseShape = shape;
    let levels = 0;
    const segments = path.split(".");
    segments.forEach((property, index) => {
      const last = index === segments.length - 1;
      if (typeof at === "object") {
        if (property !== "data" || last) throw cannot();
        steps.push({ property, expands: null });
        at = at.list;
        return;
      }
      const edge: Edge | undefined = Object.hasOwn(edges[at], property) ? edges[at][property] : undefined;
      if (!edge) throw cannot();
      if ("expand" in edge) {
        levels += 1;
        steps.push({ property, expands: edge.expand });
        at = edge.expand;
        return;
      }
      if (last) throw cannot();
      steps.push({ property, expands: null });
      at = "into" in edge ? edge.into : { list: edge.list };
    });
    if (levels > MAX_LEVELS) {
      throw invalidRequest(`You cannot expand more than ${MAX_LEVELS} levels of a property. Property: ${path}`, {
        param: "expand",
      });
    }
    return steps;
  });
}

/** Replaces ids along checked paths with copies of the objects `lookup` finds. */
export function applyExpansion(
  body: object,
  plan: readonly Step[][],
  lookup: (type: ExpandableType, id: string) => object | undefined,
) {
  for (const steps of plan) walk(body, steps, lookup);
}

function walk(node: unknown, steps: readonly Step[], lookup: (type: ExpandableType, id: string) => object | undefined) {
  const [step, ...rest] = steps;
  if (!step || typeof node !== "object" || node === null) return;
  if (Array.isArray(node)) {
    for (const element of node) walk(element, steps, lookup);
    return;
  }
  const container = node as Record<string, unknown>;
  let value = container[step.property];
  if (step.expands && typeof value === "string") {
    const found = lookup(step.expands, value);
    if (found) {
      value = structuredClone(found);
      container[step.property] = value;
    }
  }
  walk(value, rest, lookup);
}
