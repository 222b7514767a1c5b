-- Reconciliation finds a payment by the ids a gateway lists it under: besides its main reference,
-- PayPal's capture id and Square Terminal's payment id, kept in gateway_data.
CREATE INDEX payments_capture_id ON payments (gateway, (gateway_data ->> 'capture_id'))
  WHERE gateway_data ? 'capture_id';
CREATE INDEX payments_payment_id ON payments (gateway, (gateway_data ->> 'payment_id'))
  WHERE gateway_data ? 'payment_id';
