/**
 * The GraphQL schema: the contract's queries over the same DTOs as REST (same snake_case names,
 * money in integer minor units, ISO 8601 strings for times).
 */
export const schema = /* GraphQL */ `
  "Any JSON value (a payment's next_action)."
  scalar JSON

  type Query {
    me: Me!
    products(q: String, active: Boolean, limit: Int, cursor: String): ProductPage!
    product(id: ID!): Product
    inventory(low_stock: Boolean, limit: Int, cursor: String): StockLevelPage!
    orders(status: String, limit: Int, cursor: String): OrderPage!
    order(id: ID!): Order
    dashboard(from: String, to: String, interval: String, currency: String): Dashboard!
    recommendations(product_id: ID, limit: Int): Recommendations!
  }

  type Me {
    id: ID!
    email: String!
    name: String!
    email_verified: Boolean!
    tenant_id: ID!
    roles: [String!]!
    permissions: [String!]!
    session_id: ID!
    created_at: String!
  }

  type Product {
    id: ID!
    sku: String!
    name: String!
    description: String
    price: Int!
    currency: String!
    active: Boolean!
    created_at: String!
    updated_at: String!
  }

  type ProductPage {
    data: [Product!]!
    next_cursor: String
  }

  "A product as an order line refers to it (it may have been deleted since: then null)."
  type ProductSummary {
    id: ID!
    sku: String!
    name: String!
    active: Boolean!
    price: Int!
    currency: String!
  }

  type StockLevel {
    product_id: ID!
    sku: String!
    on_hand: Int!
    reserved: Int!
    available: Int!
    low_stock_threshold: Int!
    updated_at: String!
  }

  type StockLevelPage {
    data: [StockLevel!]!
    next_cursor: String
  }

  type Order {
    id: ID!
    number: Int!
    status: String!
    payment_status: String!
    currency: String!
    lines: [OrderLine!]!
    subtotal: Int!
    total: Int!
    amount_paid: Int!
    amount_refunded: Int!
    customer_email: String
    note: String
    created_at: String!
    updated_at: String!
    "Needs read:payments."
    payments: [Payment!]!
    history: [StatusChange!]!
  }

  type OrderPage {
    data: [Order!]!
    next_cursor: String
  }

  type OrderLine {
    product_id: ID!
    sku: String!
    name: String!
    quantity: Int!
    unit_price: Int!
    line_total: Int!
    product: ProductSummary
  }

  type Actor {
    type: String!
    id: ID
  }

  type StatusChange {
    id: ID!
    from: String
    to: String!
    actor: Actor!
    reason: String
    created_at: String!
  }

  type Payment {
    id: ID!
    order_id: ID!
    gateway: String!
    payment_method_id: ID
    amount: Int!
    currency: String!
    status: String!
    capture: Boolean!
    amount_authorized: Int!
    amount_captured: Int!
    amount_refunded: Int!
    gateway_reference: String
    next_action: JSON
    pending_operation: String
    failure_code: String
    failure_message: String
    change_due: Int
    created_at: String!
    updated_at: String!
    refunds: [Refund!]!
  }

  type Refund {
    id: ID!
    payment_id: ID!
    amount: Int!
    currency: String!
    status: String!
    reason: String
    gateway_reference: String
    failure_code: String
    failure_message: String
    created_at: String!
    updated_at: String!
    processed_at: String
  }

  type SeriesPoint {
    bucket: String!
    revenue: Int!
    orders: Int!
  }

  type TopProduct {
    product_id: ID!
    name: String
    quantity: Int!
    revenue: Int!
  }

  type PaymentMix {
    gateway: String!
    count: Int!
    amount: Int!
  }

  type Dashboard {
    currency: String
    "Every currency with sales in the range: the others can be asked for by currency."
    currencies: [String!]!
    time_zone: String!
    interval: String!
    from: String!
    to: String!
    revenue: Int!
    orders: Int!
    average_order_value: Int!
    items_sold: Int!
    refunded: Int!
    series: [SeriesPoint!]!
    top_products: [TopProduct!]!
    payment_mix: [PaymentMix!]!
    low_stock: [StockLevel!]!
  }

  type Recommendation {
    product_id: ID!
    sku: String
    name: String
    score: Float!
  }

  type Recommendations {
    strategy: String!
    items: [Recommendation!]!
  }
`;
