// Markdown tables with padded, aligned columns: readable in a terminal, and already in the shape
// `biome format` gives tables (the repo's lint checks every .md, bench/results/ included).

export type Align = 'left' | 'right';

const width = (text: string) => [...text].length;

export function markdownTable(columns: Array<[title: string, align: Align]>, rows: string[][]): string[] {
  const widths = columns.map(([title], i) =>
    Math.max(3, width(title), ...rows.map((row) => width(row[i] ?? ''))),
  );
  const cell = (text: string, i: number) => {
    const pad = ' '.repeat(widths[i]! - width(text));
    return columns[i]![1] === 'right' ? pad + text : text + pad;
  };
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = columns.map(([, align], i) =>
    align === 'right' ? `${'-'.repeat(widths[i]! - 1)}:` : '-'.repeat(widths[i]!),
  );
  return [
    line(columns.map(([title]) => title)),
    `| ${rule.join(' | ')} |`,
    ...rows.map((row) => line(columns.map((_, i) => row[i] ?? ''))),
  ];
}
