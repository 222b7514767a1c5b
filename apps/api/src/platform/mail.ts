import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from './config';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface SentMail extends Mail {
  from: string;
  sent_at: string;
}

/** How many mails the development outbox keeps. */
const OUTBOX_SIZE = 50;

/**
 * Outgoing mail. With SMTP_URL, mails go out over SMTP (nodemailer); without it (the embedded
 * default) they are logged and the last ones are kept in memory for development, readable with
 * outbox(). In production without SMTP_URL a mail is dropped with a warning that names no more than
 * its recipient and subject: its text holds single-use links (reset, verification, invitation).
 * Links in mails point at PUBLIC_URL.
 */
export class Mailer {
  private readonly transport: Transporter | null;
  private readonly recent: SentMail[] = [];

  constructor(
    private readonly config: Pick<Config, 'SMTP_URL' | 'MAIL_FROM' | 'PUBLIC_URL'> &
      Partial<Pick<Config, 'NODE_ENV'>>,
    private readonly logger: Logger,
  ) {
    this.transport = config.SMTP_URL ? nodemailer.createTransport(config.SMTP_URL) : null;
  }

  /** Whether mails go over SMTP (otherwise they are kept in memory). */
  get smtp(): boolean {
    return this.transport !== null;
  }

  /** An absolute link into the web app: `link('/reset-password', { token })`. */
  link(pathname: string, query: Record<string, string> = {}): string {
    // Relative to PUBLIC_URL, which may carry a path of its own (an app served under /shop).
    const base = this.config.PUBLIC_URL.endsWith('/') ? this.config.PUBLIC_URL : `${this.config.PUBLIC_URL}/`;
    const url = new URL(pathname.replace(/^\/+/, ''), base);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url.toString();
  }

  async send(mail: Mail): Promise<void> {
    const from = this.config.MAIL_FROM;
    if (this.transport) {
      await this.transport.sendMail({
        from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      });
      this.logger.info({ to: mail.to, subject: mail.subject }, 'mail sent');
      return;
    }
    if (this.config.NODE_ENV === 'production') {
      this.logger.warn({ to: mail.to, subject: mail.subject }, 'mail not sent: SMTP_URL is not set');
      return;
    }
    this.recent.push({ ...mail, from, sent_at: new Date().toISOString() });
    if (this.recent.length > OUTBOX_SIZE) this.recent.shift();
    this.logger.info({ to: mail.to, subject: mail.subject, text: mail.text }, 'mail kept (no SMTP_URL)');
  }

  /**
   * Sends after the caller has answered: the caller's response time does not depend on whether a
   * mail went out (no enumeration by timing), and an SMTP failure is logged, not the request's.
   */
  sendLater(mail: Mail): void {
    setImmediate(() => {
      this.send(mail).catch((error: unknown) =>
        this.logger.error({ err: error, to: mail.to, subject: mail.subject }, 'mail delivery failed'),
      );
    });
  }

  /** The last mails kept in development (no SMTP_URL), oldest first; empty with SMTP. */
  outbox(): readonly SentMail[] {
    return [...this.recent];
  }

  close(): void {
    this.transport?.close();
  }
}

/** Escapes text for an HTML mail body. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
