-- The whole current schema, generated from db/migrations by `npm run schema:dump`. Do not edit:
-- change the schema with a new migration, then regenerate this file (CI checks that it is current).

--
-- PostgreSQL database dump
--

--
-- Name: analytics_ensure_partition(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.analytics_ensure_partition(at timestamp with time zone) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
  month_start timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  partition_name text := 'analytics_events_p' || to_char(at AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
  IF to_regclass(partition_name) IS NOT NULL THEN
    RETURN;
  END IF;
  BEGIN
    EXECUTE format(
      'CREATE TABLE %I PARTITION OF analytics_events FOR VALUES FROM (%L) TO (%L)',
      partition_name, month_start, month_start + interval '1 month'
    );
    PERFORM enable_tenant_rls(partition_name::regclass);
  EXCEPTION
    -- Another process created it first, or rows of that month already sit in the default partition
    -- (they stay there, still visible through the parent).
    WHEN duplicate_table OR check_violation THEN NULL;
  END;
END $$;

--
-- Name: create_order_number_sequence(uuid, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.create_order_number_sequence(tenant uuid, start_with bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
BEGIN
  EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I START WITH %s', order_number_sequence(tenant), start_with);
  EXECUTE format('REVOKE ALL ON SEQUENCE %I FROM tessera_app', order_number_sequence(tenant));
END $$;

--
-- Name: current_tenant_id(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

--
-- Name: enable_tenant_rls(regclass); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.enable_tenant_rls(target regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())',
    target
  );
END $$;

--
-- Name: next_order_number(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.next_order_number() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$ SELECT nextval(order_number_sequence(current_tenant_id())::regclass) $$;

--
-- Name: order_number_sequence(uuid); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.order_number_sequence(tenant uuid) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT 'order_numbers_' || replace(tenant::text, '-', '') $$;

--
-- Name: payment_committed(text, bigint, bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.payment_committed(status text, amount bigint, captured bigint, refunded bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$
SELECT CASE
  WHEN status IN ('pending', 'unknown', 'authorized') THEN amount
  WHEN status IN ('completed', 'partially_refunded', 'refunded') THEN captured - refunded
  ELSE 0
END
$$;

--
-- Name: payment_order_balance_apply(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.payment_order_balance_apply() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
  delta bigint := 0;
  payment payments;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.order_id <> OLD.order_id THEN
    RAISE EXCEPTION 'a payment cannot move to another order';
  END IF;
  IF TG_OP <> 'DELETE' THEN
    payment := NEW;
    delta := payment_committed(NEW.status, NEW.amount, NEW.amount_captured, NEW.amount_refunded);
  END IF;
  IF TG_OP <> 'INSERT' THEN
    payment := OLD;
    delta := delta - payment_committed(OLD.status, OLD.amount, OLD.amount_captured, OLD.amount_refunded);
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO payment_order_balances AS balance (order_id, tenant_id, committed)
    VALUES (payment.order_id, payment.tenant_id, delta)
    ON CONFLICT (order_id) DO UPDATE SET committed = balance.committed + EXCLUDED.committed;
  ELSIF delta <> 0 THEN
    -- A plain update: the row exists since the payment's insert, and a negative delta would fail
    -- the check on an upsert's proposed row.
    UPDATE payment_order_balances SET committed = committed + delta WHERE order_id = payment.order_id;
  END IF;
  RETURN NULL;
END $$;

--
-- Name: tenants_create_order_number_sequence(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.tenants_create_order_number_sequence() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
BEGIN
  PERFORM create_order_number_sequence(NEW.id, 1);
  RETURN NEW;
END $$;

--
-- Name: analytics_currencies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_currencies (
    tenant_id uuid NOT NULL,
    currency text NOT NULL,
    orders bigint DEFAULT 0 NOT NULL
);

--
-- Name: analytics_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_events (
    tenant_id uuid NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    id uuid NOT NULL,
    type text NOT NULL,
    stream text NOT NULL,
    version integer NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    data jsonb NOT NULL,
    stored_at timestamp with time zone DEFAULT now() NOT NULL
)
PARTITION BY RANGE (occurred_at);

--
-- Name: analytics_events_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_events_default (
    tenant_id uuid NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    id uuid NOT NULL,
    type text NOT NULL,
    stream text NOT NULL,
    version integer NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    data jsonb NOT NULL,
    stored_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: analytics_gateway_buckets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_gateway_buckets (
    tenant_id uuid NOT NULL,
    currency text NOT NULL,
    bucket timestamp with time zone NOT NULL,
    gateway text NOT NULL,
    payments integer DEFAULT 0 NOT NULL,
    amount bigint DEFAULT 0 NOT NULL
);

--
-- Name: analytics_gateway_days; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_gateway_days (
    tenant_id uuid NOT NULL,
    currency text NOT NULL,
    day date NOT NULL,
    gateway text NOT NULL,
    payments bigint DEFAULT 0 NOT NULL,
    amount bigint DEFAULT 0 NOT NULL
);

--
-- Name: analytics_orders; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_orders (
    tenant_id uuid NOT NULL,
    order_id uuid NOT NULL,
    currency text,
    total bigint,
    lines jsonb DEFAULT '[]'::jsonb NOT NULL,
    created_seen boolean DEFAULT false NOT NULL,
    paid_at timestamp with time zone,
    placed_at timestamp with time zone,
    cancelled_at timestamp with time zone
);

--
-- Name: analytics_payments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_payments (
    tenant_id uuid NOT NULL,
    payment_id uuid NOT NULL,
    gateway text NOT NULL,
    currency text NOT NULL,
    captured bigint DEFAULT 0 NOT NULL
);

--
-- Name: analytics_product_buckets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_product_buckets (
    tenant_id uuid NOT NULL,
    currency text NOT NULL,
    bucket timestamp with time zone NOT NULL,
    product_id uuid NOT NULL,
    quantity bigint DEFAULT 0 NOT NULL,
    revenue bigint DEFAULT 0 NOT NULL
);

--
-- Name: analytics_product_days; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_product_days (
    tenant_id uuid NOT NULL,
    currency text NOT NULL,
    day date NOT NULL,
    product_id uuid NOT NULL,
    quantity bigint DEFAULT 0 NOT NULL,
    revenue bigint DEFAULT 0 NOT NULL
);

--
-- Name: analytics_product_months; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_product_months (
    tenant_id uuid NOT NULL,
    currency text NOT NULL,
    month date NOT NULL,
    product_id uuid NOT NULL,
    quantity bigint DEFAULT 0 NOT NULL,
    revenue bigint DEFAULT 0 NOT NULL,
    CONSTRAINT analytics_product_months_month_check CHECK ((EXTRACT(day FROM month) = (1)::numeric))
);

--
-- Name: analytics_product_pairs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_product_pairs (
    tenant_id uuid NOT NULL,
    product_id uuid NOT NULL,
    other_id uuid NOT NULL,
    orders bigint DEFAULT 0 NOT NULL
);

--
-- Name: analytics_products; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_products (
    tenant_id uuid NOT NULL,
    product_id uuid NOT NULL,
    sku text,
    name text,
    paid_orders bigint DEFAULT 0 NOT NULL,
    quantity bigint DEFAULT 0 NOT NULL
);

--
-- Name: analytics_refunds; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_refunds (
    tenant_id uuid NOT NULL,
    refund_id uuid NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    processed_at timestamp with time zone NOT NULL
);

--
-- Name: analytics_sales_buckets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_sales_buckets (
    tenant_id uuid NOT NULL,
    currency text NOT NULL,
    bucket timestamp with time zone NOT NULL,
    orders integer DEFAULT 0 NOT NULL,
    order_value bigint DEFAULT 0 NOT NULL,
    items_sold bigint DEFAULT 0 NOT NULL,
    revenue bigint DEFAULT 0 NOT NULL,
    refunded bigint DEFAULT 0 NOT NULL
);

--
-- Name: analytics_stock; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analytics_stock (
    tenant_id uuid NOT NULL,
    product_id uuid NOT NULL,
    sku text NOT NULL,
    on_hand integer NOT NULL,
    reserved integer NOT NULL,
    available integer NOT NULL,
    low_stock_threshold integer NOT NULL,
    low_stock boolean NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    event_id uuid NOT NULL
)
WITH (fillfactor='70');

--
-- Name: dead_letters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dead_letters (
    id bigint NOT NULL,
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    stream text NOT NULL,
    payload jsonb NOT NULL,
    error text NOT NULL,
    attempts integer NOT NULL,
    failed_at timestamp with time zone DEFAULT now() NOT NULL,
    replayed_at timestamp with time zone
);

--
-- Name: dead_letters_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.dead_letters_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: dead_letters_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.dead_letters_id_seq OWNED BY public.dead_letters.id;

--
-- Name: idempotency_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.idempotency_keys (
    tenant_id uuid NOT NULL,
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    state text NOT NULL,
    locked_until timestamp with time zone NOT NULL,
    response_status integer,
    response_type text,
    response_body text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    resource_id uuid,
    CONSTRAINT idempotency_keys_state_check CHECK ((state = ANY (ARRAY['running'::text, 'completed'::text])))
);

--
-- Name: invitations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.invitations (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    email text NOT NULL,
    roles text[] NOT NULL,
    token_hash bytea NOT NULL,
    invited_by uuid NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    accepted_at timestamp with time zone,
    accepted_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT invitations_roles_check CHECK ((cardinality(roles) > 0))
);

--
-- Name: memberships; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.memberships (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    roles text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memberships_roles_check CHECK ((cardinality(roles) > 0))
);

--
-- Name: one_time_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.one_time_tokens (
    id uuid NOT NULL,
    token_hash bytea NOT NULL,
    purpose text NOT NULL,
    user_id uuid NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT one_time_tokens_purpose_check CHECK ((purpose = ANY (ARRAY['reset'::text, 'verify'::text])))
);

--
-- Name: order_lines; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.order_lines (
    order_id uuid NOT NULL,
    "position" integer NOT NULL,
    tenant_id uuid NOT NULL,
    product_id uuid NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    quantity integer NOT NULL,
    unit_price bigint NOT NULL,
    line_total bigint NOT NULL,
    CONSTRAINT order_lines_line_total_check CHECK (((line_total >= 0) AND (line_total <= '9007199254740991'::bigint))),
    CONSTRAINT order_lines_quantity_check CHECK ((quantity > 0)),
    CONSTRAINT order_lines_unit_price_check CHECK ((unit_price >= 0))
);

--
-- Name: order_payments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.order_payments (
    payment_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    order_id uuid NOT NULL,
    status text NOT NULL,
    currency text NOT NULL,
    amount bigint NOT NULL,
    amount_captured bigint NOT NULL,
    amount_refunded bigint NOT NULL,
    last_event_id uuid NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: order_status_history; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.order_status_history (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    order_id uuid NOT NULL,
    from_status text,
    to_status text NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT order_status_history_actor_type_check CHECK ((actor_type = ANY (ARRAY['user'::text, 'system'::text])))
);

--
-- Name: orders; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.orders (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    number bigint NOT NULL,
    status text NOT NULL,
    payment_status text NOT NULL,
    currency text NOT NULL,
    subtotal bigint NOT NULL,
    total bigint NOT NULL,
    amount_paid bigint DEFAULT 0 NOT NULL,
    amount_refunded bigint DEFAULT 0 NOT NULL,
    customer_email text,
    note text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT orders_amount_paid_check CHECK ((amount_paid >= 0)),
    CONSTRAINT orders_amount_refunded_check CHECK ((amount_refunded >= 0)),
    CONSTRAINT orders_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT orders_customer_email_check CHECK ((length(customer_email) <= 320)),
    CONSTRAINT orders_note_check CHECK ((length(note) <= 2000)),
    CONSTRAINT orders_payment_status_check CHECK ((payment_status = ANY (ARRAY['unpaid'::text, 'authorized'::text, 'partially_paid'::text, 'paid'::text, 'partially_refunded'::text, 'refunded'::text]))),
    CONSTRAINT orders_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'paid'::text, 'fulfilled'::text, 'cancelled'::text, 'refunded'::text]))),
    CONSTRAINT orders_subtotal_check CHECK (((subtotal >= 0) AND (subtotal <= '9007199254740991'::bigint))),
    CONSTRAINT orders_total_check CHECK (((total >= 0) AND (total <= '9007199254740991'::bigint)))
);

--
-- Name: outbox_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox_events (
    seq bigint NOT NULL,
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    type text NOT NULL,
    stream text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    published_at timestamp with time zone,
    published_batch bigint
);

--
-- Name: outbox_events_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.outbox_events_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: outbox_events_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.outbox_events_seq_seq OWNED BY public.outbox_events.seq;

--
-- Name: outbox_publication_batches; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.outbox_publication_batches
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: payment_disputes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payment_disputes (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    payment_id uuid NOT NULL,
    gateway text NOT NULL,
    gateway_reference text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    reason text,
    status text NOT NULL,
    evidence_due_by timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    closed_at timestamp with time zone,
    CONSTRAINT payment_disputes_amount_check CHECK ((amount >= 0)),
    CONSTRAINT payment_disputes_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT payment_disputes_reason_check CHECK ((length(reason) <= 200)),
    CONSTRAINT payment_disputes_status_check CHECK ((status = ANY (ARRAY['needs_response'::text, 'under_review'::text, 'won'::text, 'lost'::text])))
);

--
-- Name: payment_gateway_settings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payment_gateway_settings (
    tenant_id uuid NOT NULL,
    gateway text NOT NULL,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    secrets_sealed text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT payment_gateway_settings_gateway_check CHECK ((gateway = ANY (ARRAY['stripe'::text, 'square'::text, 'paypal'::text])))
);

--
-- Name: payment_methods; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payment_methods (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    gateway text NOT NULL,
    type text NOT NULL,
    gateway_token text,
    brand text,
    last4 text,
    exp_month integer,
    exp_year integer,
    label text,
    is_default boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT payment_methods_exp_month_check CHECK (((exp_month >= 1) AND (exp_month <= 12))),
    CONSTRAINT payment_methods_gateway_check CHECK ((gateway = ANY (ARRAY['stripe'::text, 'square'::text, 'square_terminal'::text, 'paypal'::text, 'manual'::text]))),
    CONSTRAINT payment_methods_gateway_token_check CHECK ((length(gateway_token) <= 255)),
    CONSTRAINT payment_methods_label_check CHECK ((length(label) <= 100)),
    CONSTRAINT payment_methods_last4_check CHECK ((last4 ~ '^[0-9]{4}$'::text)),
    CONSTRAINT payment_methods_type_check CHECK ((type = ANY (ARRAY['card'::text, 'cash'::text, 'check'::text, 'paypal'::text])))
);

--
-- Name: payment_order_balances; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payment_order_balances (
    order_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    committed bigint NOT NULL,
    CONSTRAINT payment_order_balances_committed_check CHECK ((committed >= 0))
);

--
-- Name: payment_reconciliation; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payment_reconciliation (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    run_id uuid NOT NULL,
    gateway text NOT NULL,
    period_from timestamp with time zone NOT NULL,
    period_to timestamp with time zone NOT NULL,
    result text NOT NULL,
    payment_id uuid,
    gateway_reference text,
    currency text,
    local_amount bigint,
    gateway_amount bigint,
    local_status text,
    gateway_status text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    local_refunded bigint,
    gateway_refunded bigint,
    CONSTRAINT payment_reconciliation_result_check CHECK ((result = ANY (ARRAY['matched'::text, 'missing_local'::text, 'missing_gateway'::text, 'amount_mismatch'::text, 'status_mismatch'::text])))
);

--
-- Name: payment_transactions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payment_transactions (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    payment_id uuid NOT NULL,
    refund_id uuid,
    kind text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    idempotency_key text NOT NULL,
    request_fingerprint text NOT NULL,
    request jsonb NOT NULL,
    gateway_reference text,
    outcome text NOT NULL,
    failure_code text,
    raw_response jsonb,
    latency_ms integer,
    attempts integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    failure_message text,
    CONSTRAINT payment_transactions_amount_check CHECK ((amount >= 0)),
    CONSTRAINT payment_transactions_kind_check CHECK ((kind = ANY (ARRAY['authorize'::text, 'charge'::text, 'capture'::text, 'void'::text, 'refund'::text, 'confirm'::text]))),
    CONSTRAINT payment_transactions_outcome_check CHECK ((outcome = ANY (ARRAY['pending'::text, 'succeeded'::text, 'declined'::text, 'unknown'::text])))
);

--
-- Name: payment_webhook_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payment_webhook_events (
    gateway text NOT NULL,
    event_id text NOT NULL,
    tenant_id uuid NOT NULL,
    type text NOT NULL,
    payment_id uuid,
    refund_id uuid,
    payload jsonb NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: payments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payments (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    order_id uuid NOT NULL,
    gateway text NOT NULL,
    payment_method_id uuid,
    amount bigint NOT NULL,
    currency text NOT NULL,
    status text NOT NULL,
    capture boolean NOT NULL,
    amount_authorized bigint DEFAULT 0 NOT NULL,
    amount_captured bigint DEFAULT 0 NOT NULL,
    amount_refunded bigint DEFAULT 0 NOT NULL,
    gateway_reference text,
    gateway_data jsonb DEFAULT '{}'::jsonb NOT NULL,
    next_action jsonb,
    failure_code text,
    failure_message text,
    cash_tendered bigint,
    change_due bigint,
    pending_operation text,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT payments_amount_authorized_check CHECK ((amount_authorized >= 0)),
    CONSTRAINT payments_amount_captured_check CHECK ((amount_captured >= 0)),
    CONSTRAINT payments_amount_check CHECK ((amount > 0)),
    CONSTRAINT payments_amount_refunded_check CHECK ((amount_refunded >= 0)),
    CONSTRAINT payments_captured_within_amount CHECK ((amount_captured <= amount)),
    CONSTRAINT payments_cash_tendered_check CHECK ((cash_tendered >= 0)),
    CONSTRAINT payments_change_due_check CHECK ((change_due >= 0)),
    CONSTRAINT payments_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT payments_gateway_check CHECK ((gateway = ANY (ARRAY['stripe'::text, 'square'::text, 'square_terminal'::text, 'paypal'::text, 'manual'::text]))),
    CONSTRAINT payments_refunded_within_captured CHECK ((amount_refunded <= amount_captured)),
    CONSTRAINT payments_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'authorized'::text, 'completed'::text, 'failed'::text, 'voided'::text, 'partially_refunded'::text, 'refunded'::text, 'unknown'::text])))
);

--
-- Name: processed_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.processed_events (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    processed_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: products; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.products (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    description text,
    price bigint NOT NULL,
    currency text NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT products_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT products_description_check CHECK ((length(description) <= 5000)),
    CONSTRAINT products_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT products_price_check CHECK ((price >= 0)),
    CONSTRAINT products_sku_check CHECK (((length(sku) >= 1) AND (length(sku) <= 64)))
);

--
-- Name: refresh_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.refresh_tokens (
    token_hash bytea NOT NULL,
    tenant_id uuid NOT NULL,
    session_id uuid NOT NULL,
    generation integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    spent_at timestamp with time zone,
    replacement_sealed text
);

--
-- Name: refunds; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.refunds (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    payment_id uuid NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    status text NOT NULL,
    reason text,
    gateway_reference text,
    failure_code text,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    failure_message text,
    CONSTRAINT refunds_amount_check CHECK ((amount > 0)),
    CONSTRAINT refunds_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT refunds_reason_check CHECK ((length(reason) <= 500)),
    CONSTRAINT refunds_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processed'::text, 'failed'::text])))
);

--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    user_agent text,
    ip text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone DEFAULT now() NOT NULL,
    idle_expires_at timestamp with time zone NOT NULL,
    absolute_expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    revoked_reason text
);

--
-- Name: signing_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.signing_keys (
    kid text NOT NULL,
    alg text NOT NULL,
    public_jwk jsonb NOT NULL,
    private_key_sealed text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    retired_at timestamp with time zone,
    publish_until timestamp with time zone
);

--
-- Name: stock_levels; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stock_levels (
    product_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    on_hand integer DEFAULT 0 NOT NULL,
    reserved integer DEFAULT 0 NOT NULL,
    low_stock_threshold integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    is_low boolean GENERATED ALWAYS AS (((on_hand - reserved) <= low_stock_threshold)) STORED,
    CONSTRAINT stock_levels_low_stock_threshold_check CHECK ((low_stock_threshold >= 0)),
    CONSTRAINT stock_levels_on_hand_check CHECK ((on_hand >= 0)),
    CONSTRAINT stock_levels_reserved_check CHECK ((reserved >= 0)),
    CONSTRAINT stock_levels_reserved_within_on_hand CHECK ((reserved <= on_hand))
)
WITH (fillfactor='70');

--
-- Name: stock_movements; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stock_movements (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    product_id uuid NOT NULL,
    kind text NOT NULL,
    delta_on_hand integer NOT NULL,
    delta_reserved integer NOT NULL,
    on_hand_after integer NOT NULL,
    reserved_after integer NOT NULL,
    reason text,
    order_id uuid,
    actor_type text NOT NULL,
    actor_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT stock_movements_actor_type_check CHECK ((actor_type = ANY (ARRAY['user'::text, 'system'::text]))),
    CONSTRAINT stock_movements_kind_check CHECK ((kind = ANY (ARRAY['adjustment'::text, 'set'::text, 'reservation'::text, 'release'::text, 'fulfilment'::text]))),
    CONSTRAINT stock_movements_reason_check CHECK ((length(reason) <= 500))
);

--
-- Name: tenants; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tenants (
    id uuid NOT NULL,
    name text NOT NULL,
    time_zone text DEFAULT 'UTC'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tenants_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id uuid NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    password_hash text NOT NULL,
    email_verified_at timestamp with time zone,
    password_changed_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_email_check CHECK (((length(email) >= 3) AND (length(email) <= 320))),
    CONSTRAINT users_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

--
-- Name: analytics_events_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_events ATTACH PARTITION public.analytics_events_default DEFAULT;

--
-- Name: dead_letters id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letters ALTER COLUMN id SET DEFAULT nextval('public.dead_letters_id_seq'::regclass);

--
-- Name: outbox_events seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox_events ALTER COLUMN seq SET DEFAULT nextval('public.outbox_events_seq_seq'::regclass);

--
-- Name: analytics_currencies analytics_currencies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_currencies
    ADD CONSTRAINT analytics_currencies_pkey PRIMARY KEY (tenant_id, currency);

--
-- Name: analytics_events analytics_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_events
    ADD CONSTRAINT analytics_events_pkey PRIMARY KEY (tenant_id, occurred_at, id);

--
-- Name: analytics_events_default analytics_events_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_events_default
    ADD CONSTRAINT analytics_events_default_pkey PRIMARY KEY (tenant_id, occurred_at, id);

--
-- Name: analytics_gateway_buckets analytics_gateway_buckets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_gateway_buckets
    ADD CONSTRAINT analytics_gateway_buckets_pkey PRIMARY KEY (tenant_id, currency, bucket, gateway);

--
-- Name: analytics_gateway_days analytics_gateway_days_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_gateway_days
    ADD CONSTRAINT analytics_gateway_days_pkey PRIMARY KEY (tenant_id, currency, day, gateway);

--
-- Name: analytics_orders analytics_orders_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_orders
    ADD CONSTRAINT analytics_orders_pkey PRIMARY KEY (tenant_id, order_id);

--
-- Name: analytics_payments analytics_payments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_payments
    ADD CONSTRAINT analytics_payments_pkey PRIMARY KEY (tenant_id, payment_id);

--
-- Name: analytics_product_buckets analytics_product_buckets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_product_buckets
    ADD CONSTRAINT analytics_product_buckets_pkey PRIMARY KEY (tenant_id, currency, bucket, product_id);

--
-- Name: analytics_product_days analytics_product_days_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_product_days
    ADD CONSTRAINT analytics_product_days_pkey PRIMARY KEY (tenant_id, currency, day, product_id);

--
-- Name: analytics_product_months analytics_product_months_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_product_months
    ADD CONSTRAINT analytics_product_months_pkey PRIMARY KEY (tenant_id, currency, month, product_id);

--
-- Name: analytics_product_pairs analytics_product_pairs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_product_pairs
    ADD CONSTRAINT analytics_product_pairs_pkey PRIMARY KEY (tenant_id, product_id, other_id);

--
-- Name: analytics_products analytics_products_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_products
    ADD CONSTRAINT analytics_products_pkey PRIMARY KEY (tenant_id, product_id);

--
-- Name: analytics_refunds analytics_refunds_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_refunds
    ADD CONSTRAINT analytics_refunds_pkey PRIMARY KEY (tenant_id, refund_id);

--
-- Name: analytics_sales_buckets analytics_sales_buckets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_sales_buckets
    ADD CONSTRAINT analytics_sales_buckets_pkey PRIMARY KEY (tenant_id, currency, bucket);

--
-- Name: analytics_stock analytics_stock_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_stock
    ADD CONSTRAINT analytics_stock_pkey PRIMARY KEY (tenant_id, product_id);

--
-- Name: dead_letters dead_letters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letters
    ADD CONSTRAINT dead_letters_pkey PRIMARY KEY (id);

--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, scope, key);

--
-- Name: invitations invitations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_pkey PRIMARY KEY (id);

--
-- Name: invitations invitations_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_token_hash_key UNIQUE (token_hash);

--
-- Name: memberships memberships_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_pkey PRIMARY KEY (tenant_id, user_id);

--
-- Name: one_time_tokens one_time_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.one_time_tokens
    ADD CONSTRAINT one_time_tokens_pkey PRIMARY KEY (id);

--
-- Name: one_time_tokens one_time_tokens_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.one_time_tokens
    ADD CONSTRAINT one_time_tokens_token_hash_key UNIQUE (token_hash);

--
-- Name: order_lines order_lines_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_lines
    ADD CONSTRAINT order_lines_pkey PRIMARY KEY (order_id, "position");

--
-- Name: order_payments order_payments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_payments
    ADD CONSTRAINT order_payments_pkey PRIMARY KEY (payment_id);

--
-- Name: order_status_history order_status_history_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_status_history
    ADD CONSTRAINT order_status_history_pkey PRIMARY KEY (id);

--
-- Name: orders orders_number_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_number_unique UNIQUE (tenant_id, number);

--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

--
-- Name: outbox_events outbox_events_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox_events
    ADD CONSTRAINT outbox_events_id_key UNIQUE (id);

--
-- Name: outbox_events outbox_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox_events
    ADD CONSTRAINT outbox_events_pkey PRIMARY KEY (seq);

--
-- Name: payment_disputes payment_disputes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_disputes
    ADD CONSTRAINT payment_disputes_pkey PRIMARY KEY (id);

--
-- Name: payment_gateway_settings payment_gateway_settings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_gateway_settings
    ADD CONSTRAINT payment_gateway_settings_pkey PRIMARY KEY (tenant_id, gateway);

--
-- Name: payment_methods payment_methods_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_methods
    ADD CONSTRAINT payment_methods_pkey PRIMARY KEY (id);

--
-- Name: payment_order_balances payment_order_balances_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_order_balances
    ADD CONSTRAINT payment_order_balances_pkey PRIMARY KEY (order_id);

--
-- Name: payment_reconciliation payment_reconciliation_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_reconciliation
    ADD CONSTRAINT payment_reconciliation_pkey PRIMARY KEY (id);

--
-- Name: payment_transactions payment_transactions_key_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_transactions
    ADD CONSTRAINT payment_transactions_key_unique UNIQUE (tenant_id, idempotency_key);

--
-- Name: payment_transactions payment_transactions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_transactions
    ADD CONSTRAINT payment_transactions_pkey PRIMARY KEY (id);

--
-- Name: payment_webhook_events payment_webhook_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_webhook_events
    ADD CONSTRAINT payment_webhook_events_pkey PRIMARY KEY (gateway, event_id);

--
-- Name: payments payments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_pkey PRIMARY KEY (id);

--
-- Name: processed_events processed_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.processed_events
    ADD CONSTRAINT processed_events_pkey PRIMARY KEY (consumer, event_id);

--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);

--
-- Name: products products_sku_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_sku_unique UNIQUE (tenant_id, sku);

--
-- Name: refresh_tokens refresh_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash);

--
-- Name: refunds refunds_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_pkey PRIMARY KEY (id);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);

--
-- Name: signing_keys signing_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.signing_keys
    ADD CONSTRAINT signing_keys_pkey PRIMARY KEY (kid);

--
-- Name: stock_levels stock_levels_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stock_levels
    ADD CONSTRAINT stock_levels_pkey PRIMARY KEY (product_id);

--
-- Name: stock_movements stock_movements_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stock_movements
    ADD CONSTRAINT stock_movements_pkey PRIMARY KEY (id);

--
-- Name: tenants tenants_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

--
-- Name: analytics_events_type; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX analytics_events_type ON ONLY public.analytics_events USING btree (tenant_id, type, occurred_at, id);

--
-- Name: analytics_events_default_tenant_id_type_occurred_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX analytics_events_default_tenant_id_type_occurred_at_id_idx ON public.analytics_events_default USING btree (tenant_id, type, occurred_at, id);

--
-- Name: analytics_products_popular; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX analytics_products_popular ON public.analytics_products USING btree (tenant_id, paid_orders DESC, quantity DESC, product_id);

--
-- Name: analytics_stock_low; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX analytics_stock_low ON public.analytics_stock USING btree (tenant_id) WHERE low_stock;

--
-- Name: dead_letters_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dead_letters_pending ON public.dead_letters USING btree (consumer, id) WHERE (replayed_at IS NULL);

--
-- Name: idempotency_keys_expires; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idempotency_keys_expires ON public.idempotency_keys USING btree (expires_at);

--
-- Name: invitations_email; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invitations_email ON public.invitations USING btree (tenant_id, lower(email)) WHERE (accepted_at IS NULL);

--
-- Name: memberships_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX memberships_user ON public.memberships USING btree (user_id);

--
-- Name: one_time_tokens_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX one_time_tokens_user ON public.one_time_tokens USING btree (user_id, purpose) WHERE (used_at IS NULL);

--
-- Name: order_lines_product; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX order_lines_product ON public.order_lines USING btree (product_id);

--
-- Name: order_payments_order; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX order_payments_order ON public.order_payments USING btree (order_id);

--
-- Name: order_status_history_order; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX order_status_history_order ON public.order_status_history USING btree (order_id, id);

--
-- Name: orders_tenant_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX orders_tenant_id ON public.orders USING btree (tenant_id, id);

--
-- Name: orders_tenant_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX orders_tenant_status ON public.orders USING btree (tenant_id, status, id);

--
-- Name: outbox_events_published_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_events_published_at ON public.outbox_events USING btree (published_at) WHERE (published_at IS NOT NULL);

--
-- Name: outbox_events_tenant_publication; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_events_tenant_publication ON public.outbox_events USING btree (tenant_id, published_batch, seq) WHERE (published_batch IS NOT NULL);

--
-- Name: outbox_events_unpublished; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_events_unpublished ON public.outbox_events USING btree (seq) WHERE (published_at IS NULL);

--
-- Name: payment_disputes_reference; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX payment_disputes_reference ON public.payment_disputes USING btree (payment_id, gateway_reference);

--
-- Name: payment_disputes_tenant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payment_disputes_tenant ON public.payment_disputes USING btree (tenant_id, id);

--
-- Name: payment_disputes_tenant_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payment_disputes_tenant_status ON public.payment_disputes USING btree (tenant_id, status, id);

--
-- Name: payment_methods_one_default; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX payment_methods_one_default ON public.payment_methods USING btree (tenant_id) WHERE is_default;

--
-- Name: payment_reconciliation_recent; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payment_reconciliation_recent ON public.payment_reconciliation USING btree (tenant_id, id);

--
-- Name: payment_reconciliation_run; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payment_reconciliation_run ON public.payment_reconciliation USING btree (tenant_id, run_id, id);

--
-- Name: payment_transactions_payment; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payment_transactions_payment ON public.payment_transactions USING btree (tenant_id, payment_id, created_at);

--
-- Name: payment_transactions_unsettled; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payment_transactions_unsettled ON public.payment_transactions USING btree (updated_at) WHERE (outcome = ANY (ARRAY['pending'::text, 'unknown'::text]));

--
-- Name: payments_capture_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payments_capture_id ON public.payments USING btree (gateway, ((gateway_data ->> 'capture_id'::text))) WHERE (gateway_data ? 'capture_id'::text);

--
-- Name: payments_created; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payments_created ON public.payments USING btree (tenant_id, created_at);

--
-- Name: payments_gateway_reference; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payments_gateway_reference ON public.payments USING btree (gateway, gateway_reference) WHERE (gateway_reference IS NOT NULL);

--
-- Name: payments_open; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payments_open ON public.payments USING btree (id) WHERE (status = ANY (ARRAY['pending'::text, 'authorized'::text]));

--
-- Name: payments_order; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payments_order ON public.payments USING btree (tenant_id, order_id);

--
-- Name: payments_payment_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payments_payment_id ON public.payments USING btree (gateway, ((gateway_data ->> 'payment_id'::text))) WHERE (gateway_data ? 'payment_id'::text);

--
-- Name: payments_unknown; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payments_unknown ON public.payments USING btree (status) WHERE (status = 'unknown'::text);

--
-- Name: refresh_tokens_session; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refresh_tokens_session ON public.refresh_tokens USING btree (session_id);

--
-- Name: refunds_gateway_reference; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refunds_gateway_reference ON public.refunds USING btree (gateway_reference) WHERE (gateway_reference IS NOT NULL);

--
-- Name: refunds_payment; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refunds_payment ON public.refunds USING btree (tenant_id, payment_id);

--
-- Name: refunds_pending_at_gateway; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refunds_pending_at_gateway ON public.refunds USING btree (updated_at) WHERE ((status = 'pending'::text) AND (gateway_reference IS NOT NULL));

--
-- Name: refunds_tenant_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refunds_tenant_status ON public.refunds USING btree (tenant_id, status, id);

--
-- Name: sessions_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_user ON public.sessions USING btree (tenant_id, user_id) WHERE (revoked_at IS NULL);

--
-- Name: stock_levels_low; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX stock_levels_low ON public.stock_levels USING btree (tenant_id) WHERE is_low;

--
-- Name: stock_levels_tenant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX stock_levels_tenant ON public.stock_levels USING btree (tenant_id);

--
-- Name: stock_movements_product; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX stock_movements_product ON public.stock_movements USING btree (product_id, id);

--
-- Name: users_email_unique; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX users_email_unique ON public.users USING btree (lower(email));

--
-- Name: analytics_events_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.analytics_events_pkey ATTACH PARTITION public.analytics_events_default_pkey;

--
-- Name: analytics_events_default_tenant_id_type_occurred_at_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.analytics_events_type ATTACH PARTITION public.analytics_events_default_tenant_id_type_occurred_at_id_idx;

--
-- Name: payments payments_order_balance; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payments_order_balance AFTER INSERT OR DELETE OR UPDATE OF order_id, status, amount, amount_captured, amount_refunded ON public.payments FOR EACH ROW EXECUTE FUNCTION public.payment_order_balance_apply();

--
-- Name: tenants tenants_order_number_sequence; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tenants_order_number_sequence AFTER INSERT ON public.tenants FOR EACH ROW EXECUTE FUNCTION public.tenants_create_order_number_sequence();

--
-- Name: analytics_currencies analytics_currencies_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_currencies
    ADD CONSTRAINT analytics_currencies_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_events analytics_events_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.analytics_events
    ADD CONSTRAINT analytics_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_gateway_buckets analytics_gateway_buckets_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_gateway_buckets
    ADD CONSTRAINT analytics_gateway_buckets_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_gateway_days analytics_gateway_days_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_gateway_days
    ADD CONSTRAINT analytics_gateway_days_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_orders analytics_orders_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_orders
    ADD CONSTRAINT analytics_orders_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_payments analytics_payments_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_payments
    ADD CONSTRAINT analytics_payments_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_product_buckets analytics_product_buckets_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_product_buckets
    ADD CONSTRAINT analytics_product_buckets_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_product_days analytics_product_days_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_product_days
    ADD CONSTRAINT analytics_product_days_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_product_months analytics_product_months_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_product_months
    ADD CONSTRAINT analytics_product_months_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_product_pairs analytics_product_pairs_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_product_pairs
    ADD CONSTRAINT analytics_product_pairs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_products analytics_products_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_products
    ADD CONSTRAINT analytics_products_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_refunds analytics_refunds_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_refunds
    ADD CONSTRAINT analytics_refunds_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_sales_buckets analytics_sales_buckets_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_sales_buckets
    ADD CONSTRAINT analytics_sales_buckets_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_stock analytics_stock_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analytics_stock
    ADD CONSTRAINT analytics_stock_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: idempotency_keys idempotency_keys_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: invitations invitations_accepted_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_accepted_by_fkey FOREIGN KEY (accepted_by) REFERENCES public.users(id);

--
-- Name: invitations invitations_invited_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_invited_by_fkey FOREIGN KEY (invited_by) REFERENCES public.users(id);

--
-- Name: invitations invitations_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: memberships memberships_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: memberships memberships_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);

--
-- Name: one_time_tokens one_time_tokens_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.one_time_tokens
    ADD CONSTRAINT one_time_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);

--
-- Name: order_lines order_lines_order_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_lines
    ADD CONSTRAINT order_lines_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id) ON DELETE CASCADE;

--
-- Name: order_lines order_lines_product_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_lines
    ADD CONSTRAINT order_lines_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE RESTRICT;

--
-- Name: order_lines order_lines_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_lines
    ADD CONSTRAINT order_lines_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: order_payments order_payments_order_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_payments
    ADD CONSTRAINT order_payments_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id) ON DELETE CASCADE;

--
-- Name: order_payments order_payments_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_payments
    ADD CONSTRAINT order_payments_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: order_status_history order_status_history_order_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_status_history
    ADD CONSTRAINT order_status_history_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id) ON DELETE CASCADE;

--
-- Name: order_status_history order_status_history_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_status_history
    ADD CONSTRAINT order_status_history_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: orders orders_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: outbox_events outbox_events_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox_events
    ADD CONSTRAINT outbox_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: payment_disputes payment_disputes_payment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_disputes
    ADD CONSTRAINT payment_disputes_payment_id_fkey FOREIGN KEY (payment_id) REFERENCES public.payments(id);

--
-- Name: payment_disputes payment_disputes_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_disputes
    ADD CONSTRAINT payment_disputes_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: payment_gateway_settings payment_gateway_settings_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_gateway_settings
    ADD CONSTRAINT payment_gateway_settings_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: payment_methods payment_methods_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_methods
    ADD CONSTRAINT payment_methods_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: payment_order_balances payment_order_balances_order_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_order_balances
    ADD CONSTRAINT payment_order_balances_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id) ON DELETE CASCADE;

--
-- Name: payment_order_balances payment_order_balances_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_order_balances
    ADD CONSTRAINT payment_order_balances_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: payment_reconciliation payment_reconciliation_payment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_reconciliation
    ADD CONSTRAINT payment_reconciliation_payment_id_fkey FOREIGN KEY (payment_id) REFERENCES public.payments(id);

--
-- Name: payment_reconciliation payment_reconciliation_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_reconciliation
    ADD CONSTRAINT payment_reconciliation_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: payment_transactions payment_transactions_payment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_transactions
    ADD CONSTRAINT payment_transactions_payment_id_fkey FOREIGN KEY (payment_id) REFERENCES public.payments(id);

--
-- Name: payment_transactions payment_transactions_refund_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_transactions
    ADD CONSTRAINT payment_transactions_refund_id_fkey FOREIGN KEY (refund_id) REFERENCES public.refunds(id);

--
-- Name: payment_transactions payment_transactions_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_transactions
    ADD CONSTRAINT payment_transactions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: payment_webhook_events payment_webhook_events_payment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_webhook_events
    ADD CONSTRAINT payment_webhook_events_payment_id_fkey FOREIGN KEY (payment_id) REFERENCES public.payments(id);

--
-- Name: payment_webhook_events payment_webhook_events_refund_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_webhook_events
    ADD CONSTRAINT payment_webhook_events_refund_id_fkey FOREIGN KEY (refund_id) REFERENCES public.refunds(id);

--
-- Name: payment_webhook_events payment_webhook_events_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payment_webhook_events
    ADD CONSTRAINT payment_webhook_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: payments payments_order_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id);

--
-- Name: payments payments_payment_method_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_payment_method_id_fkey FOREIGN KEY (payment_method_id) REFERENCES public.payment_methods(id) ON DELETE SET NULL;

--
-- Name: payments payments_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: products products_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: refresh_tokens refresh_tokens_session_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refresh_tokens
    ADD CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES public.sessions(id);

--
-- Name: refresh_tokens refresh_tokens_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refresh_tokens
    ADD CONSTRAINT refresh_tokens_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: refunds refunds_payment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_payment_id_fkey FOREIGN KEY (payment_id) REFERENCES public.payments(id);

--
-- Name: refunds refunds_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: sessions sessions_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: sessions sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);

--
-- Name: stock_levels stock_levels_product_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stock_levels
    ADD CONSTRAINT stock_levels_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE CASCADE;

--
-- Name: stock_levels stock_levels_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stock_levels
    ADD CONSTRAINT stock_levels_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: stock_movements stock_movements_product_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stock_movements
    ADD CONSTRAINT stock_movements_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE CASCADE;

--
-- Name: stock_movements stock_movements_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stock_movements
    ADD CONSTRAINT stock_movements_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: analytics_currencies; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_currencies ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_events; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_events ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_events_default; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_events_default ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_gateway_buckets; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_gateway_buckets ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_gateway_days; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_gateway_days ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_orders; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_orders ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_payments; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_payments ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_product_buckets; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_product_buckets ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_product_days; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_product_days ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_product_months; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_product_months ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_product_pairs; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_product_pairs ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_products; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_products ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_refunds; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_refunds ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_sales_buckets; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_sales_buckets ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_stock; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.analytics_stock ENABLE ROW LEVEL SECURITY;

--
-- Name: idempotency_keys; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: invitations; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.invitations ENABLE ROW LEVEL SECURITY;

--
-- Name: memberships; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.memberships ENABLE ROW LEVEL SECURITY;

--
-- Name: order_lines; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.order_lines ENABLE ROW LEVEL SECURITY;

--
-- Name: order_payments; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.order_payments ENABLE ROW LEVEL SECURITY;

--
-- Name: order_status_history; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.order_status_history ENABLE ROW LEVEL SECURITY;

--
-- Name: orders; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;

--
-- Name: outbox_events; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.outbox_events ENABLE ROW LEVEL SECURITY;

--
-- Name: payment_disputes; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.payment_disputes ENABLE ROW LEVEL SECURITY;

--
-- Name: payment_gateway_settings; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.payment_gateway_settings ENABLE ROW LEVEL SECURITY;

--
-- Name: payment_methods; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.payment_methods ENABLE ROW LEVEL SECURITY;

--
-- Name: payment_order_balances; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.payment_order_balances ENABLE ROW LEVEL SECURITY;

--
-- Name: payment_reconciliation; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.payment_reconciliation ENABLE ROW LEVEL SECURITY;

--
-- Name: payment_transactions; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.payment_transactions ENABLE ROW LEVEL SECURITY;

--
-- Name: payment_webhook_events; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.payment_webhook_events ENABLE ROW LEVEL SECURITY;

--
-- Name: payments; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.payments ENABLE ROW LEVEL SECURITY;

--
-- Name: products; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.products ENABLE ROW LEVEL SECURITY;

--
-- Name: refresh_tokens; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.refresh_tokens ENABLE ROW LEVEL SECURITY;

--
-- Name: refunds; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.refunds ENABLE ROW LEVEL SECURITY;

--
-- Name: sessions; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.sessions ENABLE ROW LEVEL SECURITY;

--
-- Name: stock_levels; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.stock_levels ENABLE ROW LEVEL SECURITY;

--
-- Name: stock_movements; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.stock_movements ENABLE ROW LEVEL SECURITY;

--
-- Name: analytics_currencies tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_currencies USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_events tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_events USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_events_default tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_events_default USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_gateway_buckets tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_gateway_buckets USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_gateway_days tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_gateway_days USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_orders tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_orders USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_payments tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_payments USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_product_buckets tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_product_buckets USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_product_days tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_product_days USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_product_months tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_product_months USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_product_pairs tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_product_pairs USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_products tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_products USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_refunds tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_refunds USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_sales_buckets tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_sales_buckets USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: analytics_stock tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.analytics_stock USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: idempotency_keys tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.idempotency_keys USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: invitations tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.invitations USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: memberships tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.memberships USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: order_lines tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.order_lines USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: order_payments tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.order_payments USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: order_status_history tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.order_status_history USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: orders tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.orders USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: outbox_events tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.outbox_events USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: payment_disputes tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.payment_disputes USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: payment_gateway_settings tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.payment_gateway_settings USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: payment_methods tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.payment_methods USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: payment_order_balances tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.payment_order_balances USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: payment_reconciliation tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.payment_reconciliation USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: payment_transactions tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.payment_transactions USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: payment_webhook_events tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.payment_webhook_events USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: payments tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.payments USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: products tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.products USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: refresh_tokens tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.refresh_tokens USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: refunds tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.refunds USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: sessions tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.sessions USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: stock_levels tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.stock_levels USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: stock_movements tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.stock_movements USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));

--
-- Name: tenants tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.tenants USING ((id = public.current_tenant_id())) WITH CHECK ((id = public.current_tenant_id()));

--
-- Name: tenants; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;

--
-- PostgreSQL database dump complete
--
