// What awaits an investigator's signature at the staff member's sites (#/signatures):
// adverse events, casebooks and applied change requests, each unsigned or with its
// signature invalidated by a change since, oldest first, each linked to its record.
import { get } from '../../../js/api.js';
import { h } from '../../../js/dom.js';
import { RECORD_TYPES, SIGNATURE_STATES, age, instant, label } from '../labels.js';
import { badge, put, showError, table } from '../ui.js';

/** Where a record is signed: the participant's page, at its section. */
function recordLink(item) {
  const href = `#/participants/${encodeURIComponent(item.study_id)}`;
  return h('a', { href }, item.title);
}

function render(root, ctx) {
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  put(root, h('h1', {}, 'To sign'),
    h('p', { class: 'hint' }, ctx.can('signatures.sign')
      ? 'Records waiting for your signature. Open one to review and sign it.'
      : 'Records waiting for an investigator’s signature. Only investigators can sign.'),
    list);
  load();

  async function load() {
    try {
      const { awaiting } = await get('/staff/signatures/awaiting');
      put(list, h('p', { class: 'hint' }, `${awaiting.length} record${awaiting.length === 1 ? '' : 's'} to sign.`),
        table({ text: 'Records to sign', hidden: true }, [
          { title: 'Record', className: 'wide', cell: (i) => recordLink(i) },
          { title: 'Kind', cell: (i) => label(RECORD_TYPES, i.record_type) },
          { title: 'Participant', cell: (i) => h('a', { href: `#/participants/${encodeURIComponent(i.study_id)}` }, i.study_id) },
          { title: 'Site', cell: (i) => i.site },
          { title: 'State', cell: (i) => (i.state === 'unsigned'
            ? badge('sg-unsigned', 'Not signed') : badge('sg-invalidated', label(SIGNATURE_STATES, i.state))) },
          { title: 'Since', cell: (i) => (i.since ? [instant(i.since), h('span', { class: 'hint block' }, age(i.since))] : '—') },
        ], awaiting, { empty: 'Nothing waits for a signature.' }));
    } catch (error) {
      put(list, showError(null, error, 'Could not load what awaits a signature.'));
    }
  }
}

export default { title: 'To sign', render };
