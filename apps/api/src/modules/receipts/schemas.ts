import { Type, type Static } from '@sinclair/typebox';
import { Email } from '../auth';

export const SendReceiptBody = Type.Object({ email: Type.Optional(Email) }, { additionalProperties: false });
export type SendReceiptBody = Static<typeof SendReceiptBody>;

export const ReceiptSent = Type.Object({ sent_to: Type.String() });
