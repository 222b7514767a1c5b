import type { Web } from '@tessera/contracts';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { currencyExponent, formatMoney, formatTime } from '../lib/format';
import { usePrefersReducedMotion } from '../lib/motion';

/**
 * Revenue per bucket as bars; the numbers are also in the KPIs above for screen readers. Bars grow
 * into place, and again on every live update, unless the user asked for less motion.
 */
export default function SalesChart({
  series,
  currency,
}: {
  series: Web.Dashboard['series'];
  currency: string;
}) {
  const still = usePrefersReducedMotion();
  const scale = 10 ** currencyExponent(currency);
  const data = series.map((point) => ({
    bucket: formatTime(point.bucket),
    revenue: point.revenue / scale,
    orders: point.orders,
  }));
  return (
    <div className="chart" role="img" aria-label={`Revenue by hour, ${series.length} hours with data`}>
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="bucket" tick={{ fontSize: 12 }} />
          <YAxis tick={{ fontSize: 12 }} width={56} />
          <Tooltip formatter={(value) => formatMoney(Math.round(Number(value) * scale), currency)} />
          <Bar
            dataKey="revenue"
            name="Revenue"
            fill="#0b5cad"
            radius={[4, 4, 0, 0]}
            isAnimationActive={!still}
          />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
