// Shared by the docs generators: replaces the text between `<!-- NAME:start -->` and
// `<!-- NAME:end -->` in a markdown file with `md`; with `--check`, only exits 1 when it would
// change. A file without the markers is an error (a generator must never pass by writing nothing).
import { readFileSync, writeFileSync } from 'node:fs';

export function updateDocSection(file, name, md, what, script) {
  const text = readFileSync(file, 'utf8');
  const re = new RegExp(`<!-- ${name}:start -->[\\s\\S]*<!-- ${name}:end -->`);
  if (!re.test(text)) {
    console.error(`${file} has no <!-- ${name}:start --> … <!-- ${name}:end --> markers for the ${what} (${script})`);
    process.exit(1);
  }
  const out = text.replace(re, () => `<!-- ${name}:start -->\n${md}\n<!-- ${name}:end -->`);
  if (process.argv.includes('--check')) {
    if (out !== text) {
      console.error(`${file} ${what} is stale: run node ${script}`);
      process.exit(1);
    }
  } else {
    writeFileSync(file, out);
  }
}
