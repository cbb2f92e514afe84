// A time zone chosen as people name places: a country or region, then a city in it.
// The choices are the server's (GET /staff/timezones: canonical IANA names only, the
// only ones it takes); a browser's own list holds old aliases the server refuses.
import { get } from '../../js/api.js';
import { h, uid } from '../../js/dom.js';
import { countryCityFields } from '../../js/zones.js';

let list = null;

/** The server's list, asked once per page load ({countries: [{name, zones: [{zone, city, area}]}]}). */
export function loadZones() {
  list = list || get('/staff/timezones').catch((error) => {
    list = null;
    throw error;
  });
  return list;
}

/** The phone's country-then-city fields, for the console's forms: the city's select is
 * named `name` and holds the IANA zone, so forms read it and the API's error for `name`
 * lands beside it. Returns {el, set(zone), value()}. */
export function zoneFields(zones, current, { name = 'timezone', hint } = {}) {
  const cityId = uid('zz');
  return countryCityFields(zones, current, {
    ids: [uid('zc'), cityId],
    labels: ['Time zone: country or region', 'Time zone: city or area'],
    name,
    describedBy: hint ? `${cityId}-hint` : null,
    className: 'zone-fields',
    after: [
      hint ? h('p', { class: 'hint', id: `${cityId}-hint` }, hint) : null,
      h('p', { class: 'field-error', id: `${cityId}-error`, hidden: true }),
    ],
  });
}

/** zoneFields once the list has come: the element at once (saying it is loading), and
 * `ready`, the fields' {set, value} (null when the list could not be read). */
export function zoneChooser(current, options = {}) {
  const el = h('div', { class: 'zone-fields' }, h('p', { class: 'loading span' }, 'Loading the time zones…'));
  const ready = loadZones().then((zones) => {
    const fields = zoneFields(zones, current, options);
    el.replaceChildren(fields.el);
    return fields;
  }, () => {
    el.replaceChildren(h('p', { class: 'notice error span', role: 'alert' }, 'The time zones could not be loaded. Reload the page to try again.'));
    return null;
  });
  return { el, ready };
}
