import { escapeHtml, type Mail, type Mailer } from '../../platform/mail';

/** The mails auth sends: plain text and HTML, each with one link into the web app. */
function linkMail(
  to: string,
  subject: string,
  intro: string,
  action: string,
  url: string,
  outro: string,
): Mail {
  return {
    to,
    subject,
    text: `${intro}\n\n${action}: ${url}\n\n${outro}\n`,
    html:
      `<p>${escapeHtml(intro)}</p>` +
      `<p><a href="${escapeHtml(url)}">${escapeHtml(action)}</a></p>` +
      `<p style="color:#666">${escapeHtml(outro)}<br>${escapeHtml(url)}</p>`,
  };
}

export function verifyEmailMail(mailer: Mailer, to: string, name: string, token: string): Mail {
  return linkMail(
    to,
    'Confirm your email address',
    `Hello ${name}, please confirm that this is your email address for Tessera.`,
    'Confirm email address',
    mailer.link('/verify-email', { token }),
    'If you did not create a Tessera account, ignore this mail.',
  );
}

export function resetPasswordMail(mailer: Mailer, to: string, token: string, ttlMinutes: number): Mail {
  return linkMail(
    to,
    'Reset your Tessera password',
    'Someone (hopefully you) asked to reset the password of your Tessera account.',
    'Choose a new password',
    mailer.link('/reset-password', { token }),
    `The link works once and expires in ${ttlMinutes} minutes. If you did not ask for it, ignore this mail: your password stays as it is.`,
  );
}

export function invitationMail(
  mailer: Mailer,
  to: string,
  tenantName: string,
  inviter: string,
  token: string,
  ttlDays: number,
): Mail {
  return linkMail(
    to,
    `You are invited to ${tenantName} on Tessera`,
    `${inviter} invited you to join ${tenantName} on Tessera.`,
    'Accept the invitation',
    mailer.link('/accept-invitation', { token }),
    `The invitation works once and expires in ${ttlDays} days.`,
  );
}
