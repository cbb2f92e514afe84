// Choosing a password from an invitation or reset link (#/password/{token}): the
// token stays in the fragment, so it reaches no server log. The server judges the
// password's strength and says why it refuses one.
import { ApiError, get, send } from '../../../js/api.js';
import { h, notice } from '../../../js/dom.js';
import { busy, field, put, showError } from '../ui.js';

function render(root, ctx, { id: token }) {
  const box = h('div');
  put(root, h('h1', {}, 'Choose your password'), box);
  put(box, h('p', { class: 'loading' }, 'Checking your link…'));
  get(`/staff/password-reset/${encodeURIComponent(token || '')}`).then((link) => show(link), (error) => {
    put(box, notice('error', error instanceof ApiError ? error.message : 'The link could not be checked. Try again in a moment.'),
      h('p', {}, h('a', { href: '#/forgot' }, 'Ask for a new link')));
  });

  function show(link) {
    const username = h('input', { type: 'email', name: 'username', autocomplete: 'username', value: link.email, readonly: true });
    const first = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, maxlength: 1024 });
    const again = h('input', { type: 'password', name: 'confirm', autocomplete: 'new-password', required: true, maxlength: 1024 });
    const status = h('div', { class: 'form-status' });
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Save my password');
    const form = h('form', { class: 'card narrow', novalidate: true, onsubmit },
      field('Your staff account', username),
      field('New password', first, { hint: 'At least 12 characters. A few unusual words are strong and easy to remember.' }),
      field('New password again', again),
      status,
      h('div', { class: 'actions' }, submit));
    put(box,
      h('p', { class: 'lead' }, link.purpose === 'invitation'
        ? `Welcome${link.full_name ? `, ${link.full_name}` : ''}. Choose the password of your staff account.`
        : 'Choose a new password. Saving it signs out every session of your account.'),
      form);
    first.focus();

    async function onsubmit(event) {
      event.preventDefault();
      if (!first.value) {
        put(status, notice('error', 'Enter a new password.'));
        first.focus();
        return;
      }
      if (first.value !== again.value) {
        put(status, notice('error', 'The two passwords are not the same.'));
        again.focus();
        return;
      }
      await busy(submit, async () => {
        try {
          await send('POST', `/staff/password-reset/${encodeURIComponent(token)}`, { new_password: first.value });
          first.value = '';
          again.value = '';
          ctx.flash = 'Your password is saved. Sign in with it.';
          ctx.navigate('signin', { replace: true });
        } catch (error) {
          put(status, showError(form, error, 'The password could not be saved.'));
          first.focus();
        }
      });
    }
  }
}

export default { title: 'Choose your password', public: true, render };
