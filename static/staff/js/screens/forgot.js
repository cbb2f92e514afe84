// A forgotten password: the server mails a single-use link if the e-mail is a staff
// account, and answers the same either way, so this screen says the same too.
import { send } from '../../../js/api.js';
import { h, notice } from '../../../js/dom.js';
import { busy, field, put, showError } from '../ui.js';

function render(root) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Send me a link');
  const form = h('form', { class: 'card narrow', novalidate: true, onsubmit },
    field('E-mail of your staff account', email),
    status,
    h('div', { class: 'actions' }, submit, h('a', { href: '#/signin', class: 'btn link' }, 'Back to sign-in')));
  put(root,
    h('h1', {}, 'Forgot your password?'),
    h('p', { class: 'lead' }, 'We mail you a link to choose a new password. It works once, for an hour.'),
    form);

  async function onsubmit(event) {
    event.preventDefault();
    if (!email.value.trim()) {
      put(status, notice('error', 'Enter your e-mail.'));
      email.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        await send('POST', '/staff/password-reset', { email: email.value.trim() });
        put(status, notice('done', `If ${email.value.trim()} is a staff account, a link is on its way. `,
          'Check your mailbox (and the spam folder) in a few minutes; using the link signs out every session of your account.'));
      } catch (error) {
        put(status, showError(form, error, 'The request could not be sent.'));
      }
    });
  }
}

export default { title: 'Forgot your password', public: true, render };
