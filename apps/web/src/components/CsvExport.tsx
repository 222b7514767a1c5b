import { MAX_EXPORT_DAYS } from '@tessera/contracts/limits';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { download } from '../lib/api';
import { localDate, nextDay, startOfDay } from '../lib/format';
import { useFieldErrors } from '../lib/forms';
import { Button, FormError, TextField } from './ui';

/**
 * A period's records as a CSV file, for the accountant (`path` answers text/csv for `from` and
 * `to`): the days are the business's, from the first day's midnight to the end of the last day.
 */
export function CsvExport({ path, what }: { path: string; what: string }) {
  const today = localDate();
  const [from, setFrom] = useState(`${today.slice(0, 8)}01`);
  const [to, setTo] = useState(today);
  const fields = useFieldErrors();
  const exported = useMutation({
    mutationFn: () => download(path, { query: { from: startOfDay(from), to: startOfDay(nextDay(to)) } }),
    onError: (error) => fields.fromApi(error, ['from', 'to']),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
    const problems =
      !from || !to
        ? { [from ? 'to' : 'from']: 'Choose a day.' }
        : days < 1
          ? { to: 'Choose a day on or after the first one.' }
          : days > MAX_EXPORT_DAYS
            ? { to: `Choose at most ${MAX_EXPORT_DAYS} days.` }
            : {};
    if (fields.check(problems)) exported.mutate();
  };
  return (
    <form className="filters" onSubmit={onSubmit} noValidate aria-label={`Export ${what}`}>
      <TextField
        label="From"
        type="date"
        value={from}
        max={today}
        error={fields.errors.from}
        onChange={(event) => {
          setFrom(event.target.value);
          fields.clear('from');
        }}
      />
      <TextField
        label="To"
        type="date"
        value={to}
        error={fields.errors.to}
        onChange={(event) => {
          setTo(event.target.value);
          fields.clear('to');
        }}
      />
      <Button type="submit" variant="secondary" busy={exported.isPending}>
        Download CSV
      </Button>
      {exported.isError && Object.keys(fields.errors).length === 0 && <FormError error={exported.error} />}
    </form>
  );
}
