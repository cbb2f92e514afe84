// Activate: the one-time code from the study team (typed, or filled in from
// the activation link / QR code: #/activate?code=XXXX-XXXX-XXXX).
import { ApiError, Offline, send } from '../api.js';
import { h, notice } from '../dom.js';

function render(root, ctx, params) {
  const code = params.get('code') || '';
  const message = h('div', { id: 'activate-msg' });
  const input = h('input', {
    id: 'code', name: 'code', type: 'text', value: code, required: true,
    autocomplete: 'one-time-code', autocapitalize: 'characters', spellcheck: 'false',
    inputmode: 'text', 'aria-describedby': 'code-hint activate-msg', class: 'code',
  });
  const button = h('button', { type: 'submit', class: 'btn primary wide' }, 'Activate my diary');
  const form = h('form', { class: 'card', novalidate: true, onsubmit: submit },
    h('label', { for: 'code' }, 'Activation code'),
    h('p', { id: 'code-hint', class: 'hint' }, 'It looks like ABCD-EFGH-JKLM. Capitals or small letters both work.'),
    input, message, button);

  if (ctx.flash) {
    message.append(notice('info', ctx.flash));
    ctx.flash = null;
  }
  root.append(
    h('h1', {}, 'Welcome'),
    h('p', { class: 'lead' }, 'Enter the code your study team gave you to start your pain diary. You do this once on this phone.'),
    form,
    h('p', { class: 'hint' }, 'No code, or it does not work? Ask your study team for a new one.'),
  );
  if (code) button.focus();

  async function submit(event) {
    event.preventDefault();
    message.replaceChildren();
    const value = input.value.trim();
    if (!value) {
      fail('Please enter your activation code.');
      return;
    }
    button.disabled = true;
    button.textContent = 'Checking…';
    try {
      const profile = await send('POST', '/participant/activate', { code: value });
      ctx.announce('Your diary is activated.');
      await ctx.signedIn(profile);
      ctx.navigate('today', { replace: true });
    } catch (error) {
      if (error instanceof Offline) fail('You need an internet connection to activate your diary. Try again when you have signal.');
      else if (error instanceof ApiError && error.status === 429) {
        const minutes = Math.max(1, Math.ceil(error.retryAfter / 60));
        const wait = error.retryAfter ? minutes + (minutes > 1 ? ' minutes' : ' minute') : 'a few minutes';
        fail(`Too many tries. Please wait ${wait} and try again.`);
      } else if (error instanceof ApiError) fail(error.message);
      else throw error;
    } finally {
      button.disabled = false;
      button.textContent = 'Activate my diary';
    }
  }

  function fail(text) {
    input.setAttribute('aria-invalid', 'true');
    message.replaceChildren(notice('error', text));
    input.focus();
  }
}

export default { title: 'Activate', render };
