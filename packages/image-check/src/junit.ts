import type { CheckReport } from './check.js';
import { xmlEscape as esc } from './xml.js';


/** The report as JUnit XML: one testcase per check; fail → <failure>, error → <error>, skip → <skipped>, warn passes with system-out. */
export function checkJunit(report: CheckReport): string {
  const count = (s: string) => report.checks.filter((c) => c.status === s).length;
  const suite = `xenkit check ${report.source.path}`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="xenkit" tests="${report.checks.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip')}">`,
    `  <testsuite name="${esc(suite)}" tests="${report.checks.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip')}">`,
  ];
  for (const c of report.checks) {
    lines.push(`    <testcase classname="xenkit.image-check" name="${esc(c.id)}">`);
    const body = esc([...c.evidence, ...(c.fix ? [`fix: ${c.fix}`] : [])].join('\n'));
    if (c.status === 'fail') lines.push(`      <failure message="${esc(c.summary)}">${body}</failure>`);
    else if (c.status === 'error') lines.push(`      <error message="${esc(c.summary)}">${body}</error>`);
    else if (c.status === 'skip') lines.push(`      <skipped message="${esc(c.summary)}"/>`);
    else lines.push(`      <system-out>${esc(`${c.status}: ${c.summary}`)}${body ? `\n${body}` : ''}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return `${lines.join('\n')}\n`;
}
