import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../../test/support/smtp';
import { escapeHtml, Mailer } from './mail';

const config = { MAIL_FROM: 'Tessera <no-reply@tessera.local>', PUBLIC_URL: 'https://shop.example.test/app' };
const mail = {
  to: 'ana@example.test',
  subject: 'Résumé of your order',
  text: `Hello Ana, é: ${'x'.repeat(100)} https://shop.example.test/app/reset-password?token=abc_DEF-123`,
  html: '<p>Hello <b>Ana</b></p>',
};

describe('Mailer without SMTP_URL', () => {
  it('keeps the last mails in memory for development, oldest first', async () => {
    const mailer = new Mailer(config, pino({ level: 'silent' }));
    expect(mailer.smtp).toBe(false);
    for (let i = 0; i < 55; i += 1) await mailer.send({ ...mail, subject: `mail ${i}` });
    const kept = mailer.outbox();
    expect(kept).toHaveLength(50);
    expect(kept[0]!.subject).toBe('mail 5');
    expect(kept.at(-1)).toMatchObject({ subject: 'mail 54', from: config.MAIL_FROM, to: mail.to });
  });

  it('in production, drops a mail with a warning that holds none of its links', async () => {
    const lines: string[] = [];
    const destination = { write: (line: string) => void lines.push(line) };
    const mailer = new Mailer({ ...config, NODE_ENV: 'production' }, pino({ level: 'info' }, destination));
    await mailer.send(mail);
    expect(mailer.outbox()).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 40,
      to: mail.to,
      msg: 'mail not sent: SMTP_URL is not set',
    });
    expect(lines[0]).not.toContain('token=');
  });

  it('builds links under PUBLIC_URL and escapes HTML', () => {
    const mailer = new Mailer(config, pino({ level: 'silent' }));
    expect(mailer.link('/reset-password', { token: 'a+b' })).toBe(
      'https://shop.example.test/app/reset-password?token=a%2Bb',
    );
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
});

describe('Mailer over SMTP', () => {
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp?.close();
  });

  it('sends text and HTML bodies from MAIL_FROM', async () => {
    const mailer = new Mailer({ ...config, SMTP_URL: smtp.url }, pino({ level: 'silent' }));
    await mailer.send(mail);
    const received = await smtp.waitFor(mail.to);
    expect(received.from).toBe('no-reply@tessera.local');
    // Not ASCII: the header carries it as encoded words, which the reader decodes.
    expect(received.raw).toMatch(/^Subject: =\?UTF-8\?/im);
    expect(received.subject).toBe(mail.subject);
    expect(received.text).toContain(mail.text);
    expect(received.html).toContain('<b>Ana</b>');
    expect(mailer.outbox()).toHaveLength(0);
    mailer.close();
  });
});
