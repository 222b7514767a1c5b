import { MAX_EXPORT_DAYS } from '@tessera/contracts/limits';
import { useMutation } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { download } from '../lib/api';
import { localDate, nextDay, startOfDay } from '../lib/format';
import { useFieldErrors } from '../lib/forms';
import { Button, FormError, TextField } from './ui';

/** What is wrong with the days from `from` to `to` (`YYYY-MM-DD`, both chosen) as an export's period. */
function periodProblem(from: string, to: string): string | undefined {
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
  if (days < 1) return 'Choose a day on or after the From day.';
  if (days > MAX_EXPORT_DAYS) return `Choose at most ${MAX_EXPORT_DAYS} days.`;
  return undefined;
}

/**
 * A period's records as a CSV file, for the accountant (`path` answers text/csv for `from` and
 * `to`): the days are the business's, from the first day's midnight to the end of the last day.
 * Grouped and named as an export: its days never filter the list beside it.
 */
export function CsvExport({ path, what }: { path: string; what: string }) {
  const today = localDate();
  const hintId = useId();
  const [from, setFrom] = useState(`${today.slice(0, 8)}01`);
  const [to, setTo] = useState(today);
  const fields = useFieldErrors();
  const exported = useMutation({
    mutationFn: () => download(path, { query: { from: startOfDay(from), to: startOfDay(nextDay(to)) } }),
    onError: (error) => fields.fromApi(error, ['from', 'to']),
  });
  // Shown as soon as both days are chosen, not only once the download is asked for.
  const period = from && to ? periodProblem(from, to) : undefined;
  // Either day changes the period an earlier error was about.
  const edited = () => {
    fields.clear('from');
    fields.clear('to');
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const problems =
      !from || !to ? { [from ? 'to' : 'from']: 'Choose a day.' } : period ? { to: period } : {};
    if (fields.check(problems)) exported.mutate();
  };
  return (
    <form onSubmit={onSubmit} noValidate aria-label={`Export ${what}`}>
      <fieldset aria-describedby={hintId}>
        <legend>Export {what} to CSV</legend>
        <p className="hint" id={hintId}>
          The {what} from the From day to the To day, both included, as a file for the accountant. These days
          do not filter the list below.
        </p>
        <div className="filters">
          <TextField
            label="From"
            type="date"
            value={from}
            max={today}
            error={fields.errors.from}
            onChange={(event) => {
              setFrom(event.target.value);
              edited();
            }}
          />
          <TextField
            label="To"
            type="date"
            value={to}
            min={from || undefined}
            error={fields.errors.to ?? period}
            onChange={(event) => {
              setTo(event.target.value);
              edited();
            }}
          />
          <Button type="submit" variant="secondary" busy={exported.isPending}>
            Download CSV
          </Button>
        </div>
        {exported.isError && Object.keys(fields.errors).length === 0 && <FormError error={exported.error} />}
      </fieldset>
    </form>
  );
}
