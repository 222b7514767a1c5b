import { TextField } from '../../components/ui';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../lib/forms';

/** A new password, with the API's rule stated up front. */
export function NewPasswordField({
  label = 'Password',
  value,
  error,
  onChange,
}: {
  label?: string;
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  return (
    <TextField
      label={label}
      type="password"
      autoComplete="new-password"
      hint={`${PASSWORD_MIN} to ${PASSWORD_MAX} characters. A phrase of a few words is easy to remember.`}
      value={value}
      error={error}
      minLength={PASSWORD_MIN}
      maxLength={PASSWORD_MAX}
      onChange={(event) => onChange(event.target.value)}
      required
    />
  );
}
