// The activation sheet handed to a participant: the code, the QR code of the
// activation link and plain instructions. Printed with the print stylesheet
// (only .print-sheet shows on paper).
import { h } from '../../js/dom.js';
import { instant } from './labels.js';

/** The API's QR code as an <img> (data: URL), never as live markup in the page. */
export function qrImage(svg, alt) {
  if (typeof svg !== 'string' || !svg.trimStart().startsWith('<svg')) return null;
  return h('img', {
    class: 'qr',
    src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(standalone(svg.trim()))}`,
    alt,
    width: 240,
    height: 240,
  });
}

/** An inline SVG fragment made a standalone image: a namespace, and a viewBox so it scales. */
function standalone(svg) {
  const open = svg.slice(0, svg.indexOf('>') + 1);
  let tag = open;
  if (!/\sxmlns=/.test(tag)) tag = tag.replace('<svg', '<svg xmlns="http://www.w3.org/2000/svg"');
  const w = open.match(/\swidth="([\d.]+)"/);
  const hgt = open.match(/\sheight="([\d.]+)"/);
  if (!/\sviewBox=/.test(tag) && w && hgt) tag = tag.replace('<svg', `<svg viewBox="0 0 ${w[1]} ${hgt[1]}"`);
  return tag + svg.slice(open.length);
}

export function activationSheet(issued) {
  const url = issued.activation_url || '';
  const origin = (() => {
    try {
      return new URL(url).origin;
    } catch {
      return location.origin;
    }
  })();
  const img = qrImage(issued.qr_svg, `QR code that opens the diary app for ${issued.study_id} with the activation code filled in`);
  return h('section', { class: 'print-sheet card', 'aria-labelledby': 'sheet-title' },
    h('h2', { id: 'sheet-title' }, 'Your pain diary'),
    h('p', { class: 'sheet-id' }, 'Study ID: ', h('strong', {}, issued.study_id)),
    h('div', { class: 'sheet-body' },
      img ? h('figure', { class: 'sheet-qr' }, img, h('figcaption', {}, 'Scan with your phone’s camera')) : null,
      h('div', { class: 'sheet-steps' },
        h('p', {}, 'Your activation code:'),
        h('p', { class: 'sheet-code' }, issued.activation_code),
        h('ol', {},
          h('li', {}, 'Point your phone’s camera at the square code and tap the link that appears.'),
          h('li', {}, 'Or open ', h('strong', {}, origin), ' in your phone’s browser and type the code above.'),
          h('li', {}, 'Tap “Activate my diary”. Then add the diary to your home screen when the phone offers it.'),
          h('li', {}, 'Every day, say how bad your back and leg pain were and which pain medicines you took. It takes about a minute.'),
        ),
        h('p', {}, 'The code works once and until ', h('strong', {}, instant(issued.expires_at)), '. If it does not work, ask your study team for a new one.'),
        h('p', { class: 'sheet-urgent' }, 'If you have a fever, a red or swollen injection site, new leg weakness, or lose control of your bladder or bowels, call your study team at once. In an emergency, call 911.'),
      )),
    h('p', { class: 'hint no-print' }, 'Link in the QR code: ', h('code', { class: 'break' }, url)),
    h('div', { class: 'actions no-print' },
      h('button', { type: 'button', class: 'btn primary', onclick: () => window.print() }, 'Print this page for the participant')));
}
