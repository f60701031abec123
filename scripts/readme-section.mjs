// Shared by the README generators: replaces the text between `<!-- NAME:start -->` and
// `<!-- NAME:end -->` in README.md with `md`; with `--check`, only exits 1 when it would change.
import { readFileSync, writeFileSync } from 'node:fs';

export function updateReadmeSection(name, md, what, script) {
  const readme = readFileSync('README.md', 'utf8');
  const re = new RegExp(`<!-- ${name}:start -->[\\s\\S]*<!-- ${name}:end -->`);
  const out = readme.replace(re, () => `<!-- ${name}:start -->\n${md}\n<!-- ${name}:end -->`);
  if (process.argv.includes('--check')) {
    if (out !== readme) {
      console.error(`README.md ${what} is stale: run node ${script}`);
      process.exit(1);
    }
  } else {
    writeFileSync('README.md', out);
  }
}
