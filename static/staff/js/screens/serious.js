// Serious events (#/serious-events): every 24-hour clock for reporting to the
// sponsor at the staff member's sites, running ones first and soonest due, with
// their countdowns; closed ones on request (?closed=1).
import { get } from '../../../js/api.js';
import { h } from '../../../js/dom.js';
import { utc } from '../labels.js';
import { saeClock } from '../signoff.js';
import { put, showError, table } from '../ui.js';

const TRIGGERS = { serious_adverse_event: 'Serious adverse event', hospital_or_er_visit: 'Hospital or ER visit reported' };

function render(root, ctx, { params }) {
  const closed = params.get('closed') === '1';
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const toggle = h('input', { type: 'checkbox', id: 'se-closed', checked: closed, onchange: (e) => {
    history.replaceState(null, '', `#/serious-events${e.currentTarget.checked ? '?closed=1' : ''}`);
    load(e.currentTarget.checked);
  } });
  put(root, h('h1', {}, 'Serious events'),
    h('p', { class: 'hint' }, 'A serious adverse event, or a reported hospital or ER visit, must be reported to the sponsor within 24 hours. Record the report on the adverse event.'),
    h('div', { class: 'checkbox' }, toggle, h('label', { for: 'se-closed' }, 'Also show reported and stopped clocks')),
    list);
  load(closed);

  async function load(includeClosed) {
    try {
      const { serious_events: rows } = await get(`/staff/serious-events?include_closed=${includeClosed}`);
      put(list, table({ text: 'Serious events', hidden: true }, [
        { title: 'Event', className: 'wide', cell: (c) => (c.adverse_event_id
          ? h('a', { href: `#/participants/${encodeURIComponent(c.study_id)}` }, c.term || 'Adverse event')
          : c.flag_id ? h('a', { href: `#/flags/${c.flag_id}` }, c.term || TRIGGERS[c.trigger] || 'Flag') : c.term || '—') },
        { title: 'Participant', cell: (c) => h('a', { href: `#/participants/${encodeURIComponent(c.study_id)}` }, c.study_id) },
        { title: 'Trigger', cell: (c) => TRIGGERS[c.trigger] || c.trigger },
        { title: 'Started', cell: (c) => utc(c.started_at) },
        { title: 'Clock', className: 'wide', cell: (c) => saeClock(c) },
      ], rows, { empty: includeClosed ? 'No serious events.' : 'No clock is running.' }));
    } catch (error) {
      put(list, showError(null, error, 'Could not load the serious events.'));
    }
  }
}

export default { title: 'Serious events', render };
