// A time zone chosen as people name places: a country or region, then a city in it.
// The choices are the server's (GET /staff/timezones: canonical IANA names only, the
// only ones it takes); a browser's own list holds old aliases the server refuses.
import { get } from '../../js/api.js';
import { h, picker, uid } from '../../js/dom.js';

let list = null;

/** The server's list, asked once per page load ({countries: [{name, zones: [{zone, city, area}]}]}). */
export function loadZones() {
  list = list || get('/staff/timezones').catch((error) => {
    list = null;
    throw error;
  });
  return list;
}

/** Two labelled selects, country then city; the city's is named `name` and holds the
 * IANA zone, so forms read it and the API's error for `name` lands beside it.
 * Returns {el, set(zone), value()}. */
export function zoneFields(zones, current, { name = 'timezone', hint } = {}) {
  const countries = [...((zones && zones.countries) || [])];
  if (current && !find(countries, current)) {
    // A zone stored before only canonical names were taken: kept on offer, by its name.
    countries.unshift({ name: current.replaceAll('_', ' '), zones: [{ zone: current, city: current.replaceAll('_', ' ') }] });
  }
  const countryId = uid('zc');
  const cityId = uid('zz');
  const country = h('select', { id: countryId }, countries.map((c, i) => h('option', { value: String(i) }, c.name)));
  const city = h('select', { id: cityId, name, 'aria-describedby': hint ? `${cityId}-hint` : null });
  const countryPicker = picker(country);
  const cityPicker = picker(city);
  const fill = (zone) => {
    const chosen = countries[Number(country.value)];
    city.replaceChildren(...(chosen ? chosen.zones : []).map((z) => h('option', { value: z.zone }, z.area ? `${z.city} – ${z.area}` : z.city)));
    if (zone) city.value = zone;
    countryPicker.sync();
    cityPicker.sync();
  };
  const set = (zone) => {
    const i = countries.findIndex((c) => c.zones.some((z) => z.zone === zone));
    if (i < 0) return false;
    country.value = String(i);
    fill(zone);
    return true;
  };
  country.addEventListener('change', () => {
    fill();
    city.dispatchEvent(new Event('change', { bubbles: true })); // a draft keeps the new zone
  });
  if (!set(current)) fill();
  const el = h('div', { class: 'zone-fields' },
    h('div', { class: 'field' }, h('label', { for: countryId }, 'Time zone: country or region'), countryPicker.el),
    h('div', { class: 'field' }, h('label', { for: cityId }, 'Time zone: city or area'), cityPicker.el,
      hint ? h('p', { class: 'hint', id: `${cityId}-hint` }, hint) : null,
      h('p', { class: 'field-error', id: `${cityId}-error`, hidden: true })));
  return { el, set, value: () => city.value };
}

function find(countries, zone) {
  return countries.some((c) => c.zones.some((z) => z.zone === zone));
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
