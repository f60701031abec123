/** Whether a string holds template syntax, as Ansible's is_possibly_template asks (before templating a term). */
export function isTemplated(s: string): boolean {
  return s.includes('{{') || s.includes('{%') || s.includes('{#');
}
