import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  to: string[];
  subject: string;
  /** The message decoded enough to read links from (quoted-printable undone). */
  body: string;
}

export interface MailCatcher {
  /** The SMTP_URL to give the platform. */
  url: string;
  mails: CaughtMail[];
  /** The latest link into the app at `path` (e.g. /verify-email) mailed to `to`, waiting for it. */
  link(to: string, path: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

function decodeQuotedPrintable(text: string): string {
  return text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function subjectOf(raw: string): string {
  return /^Subject: (.*)$/im.exec(raw)?.[1]?.trim() ?? '';
}

/** A real SMTP server on loopback that keeps what the platform sends, as a mailbox would. */
export async function startMailCatcher(): Promise<MailCatcher> {
  const mails: CaughtMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no STARTTLS offer, so the client does not try to upgrade.
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
          subject: subjectOf(raw),
          body: decodeQuotedPrintable(raw),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async link(to, path, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      const pattern = new RegExp(
        `https?://[^\\s"'<>]*${path.replace(/[/]/g, '\\/')}\\?token=[A-Za-z0-9_%.~-]+`,
      );
      for (;;) {
        for (const mail of [...mails].reverse()) {
          if (!mail.to.includes(to.toLowerCase())) continue;
          const found = pattern.exec(mail.body);
          if (found) return found[0].replace(/&amp;/g, '&');
        }
        if (Date.now() > deadline)
          throw new Error(`no mail to ${to} with a ${path} link within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
