// Sign in with e-mail and password, then (for accounts with two-step sign-in) the
// code from the authenticator app or a recovery code. Refusals are shown in the
// API's own words; a session that ended shows why, and the next screen is the
// one that was open. "Forgot your password?" mails a single-use link.
import { ApiError, send } from '../../../js/api.js';
import { h, notice } from '../../../js/dom.js';
import { busy, field, put, showError } from '../ui.js';

function render(root, ctx) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const otp = h('input', {
    type: 'text', name: 'otp', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 20, spellcheck: 'false',
  });
  const otpField = field('Code from your authenticator app', otp,
    { hint: 'Six digits, or one of your recovery codes if you do not have your phone.' });
  otpField.hidden = true;
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
  const form = h('form', { class: 'card narrow', novalidate: true, onsubmit },
    field('E-mail', email),
    field('Password', password),
    otpField,
    status,
    h('div', { class: 'actions' }, submit,
      h('a', { href: '#/forgot', class: 'btn link' }, 'Forgot your password?')));
  put(root,
    h('h1', {}, 'Sign in'),
    h('p', { class: 'lead' }, 'Staff console of the pain diary study. Sign in with your study staff account.'),
    ctx.flash ? notice('info', ctx.flash) : null,
    form,
  );
  ctx.flash = null;

  async function onsubmit(event) {
    event.preventDefault();
    if (!email.value.trim() || !password.value) {
      put(status, notice('error', 'Enter your e-mail and password.'));
      (email.value.trim() ? password : email).focus();
      return;
    }
    if (!otpField.hidden && !otp.value.trim()) {
      put(status, notice('error', 'Enter the code from your authenticator app.'));
      otp.focus();
      return;
    }
    const body = { email: email.value.trim(), password: password.value };
    if (!otpField.hidden) body.otp = otp.value.trim();
    await busy(submit, async () => {
      try {
        const user = await send('POST', '/staff/login', body);
        password.value = '';
        otp.value = '';
        if (user.recovery_codes_left != null) {
          ctx.flash = `You signed in with a recovery code: ${user.recovery_codes_left} left. Set up your authenticator app again if your phone is lost (ask an administrator).`;
        }
        await ctx.signedIn(user);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'otp_required') {
          // The password was right: keep it, and ask for the second step.
          otpField.hidden = false;
          put(status, notice('info', error.message));
          otp.focus();
          return;
        }
        otp.value = '';
        if (!(error instanceof ApiError && error.code === 'wrong_otp')) password.value = '';
        put(status, showError(form, error, 'Sign-in failed.'));
        if (error instanceof ApiError && error.code === 'too_many_attempts') ctx.announce(error.message);
        (otpField.hidden ? password : otp).focus();
      }
    });
  }
}

export default { title: 'Sign in', render };
