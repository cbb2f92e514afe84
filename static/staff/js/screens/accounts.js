// Staff and sites (admins, SPEC §15): invite a staff member (a single-use link by
// mail, no password), change name, role and sites, deactivate (their sessions end at
// once), send a new link, reset a lost second factor; add sites and keep the phone
// number their participants call. Every change asks why, for the audit trail.
import { get, send } from '../../../js/api.js';
import { h, notice } from '../../../js/dom.js';
import { zoneChooser } from '../zones.js';
import { badge, busy, checkbox, field, group, put, select, showError, table } from '../ui.js';

const ROLES = [['coordinator', 'Coordinator'], ['investigator', 'Investigator'], ['admin', 'Administrator']];
const roleName = (role) => (ROLES.find(([v]) => v === role) || [role, role])[1];
const when = (at) => (at ? new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'never');

function render(root, ctx) {
  const accountsBox = h('div', {}, h('p', { class: 'loading' }, 'Loading the staff accounts…'));
  const sitesBox = h('div', {}, h('p', { class: 'loading' }, 'Loading the sites…'));
  const panel = h('div');
  const sitePanel = h('div');
  let sites = [];
  const invite = inviteForm();
  put(root, h('h1', {}, 'Staff and sites'),
    h('section', { 'aria-labelledby': 'acc-h' }, h('h2', { id: 'acc-h' }, 'Staff accounts'), accountsBox, panel, invite),
    h('section', { 'aria-labelledby': 'sites-h' }, h('h2', { id: 'sites-h' }, 'Sites'), sitesBox, sitePanel, siteForm()));
  loadAll();

  async function loadAll() {
    try {
      sites = (await get('/staff/sites')).sites;
      showSites();
      showAccounts((await get('/staff/accounts')).accounts);
    } catch (error) {
      put(accountsBox, showError(null, error, 'Could not load the staff accounts.'));
    }
  }

  function showAccounts(accounts) {
    put(accountsBox, table({ text: 'Staff accounts', hidden: true }, [
      { title: 'Name', cell: (a) => a.full_name || a.email },
      { title: 'E-mail', cell: (a) => a.email },
      { title: 'Role', cell: (a) => roleName(a.role) },
      { title: 'Sites', cell: (a) => (a.role === 'admin' ? 'all sites' : a.sites.join(', ')) },
      { title: 'Status', cell: (a) => status(a) },
      { title: 'Two-step', cell: (a) => (a.mfa_enabled ? 'on' : 'off') },
      { title: 'Last sign-in', cell: (a) => when(a.last_login_at) },
      { title: 'Action', bare: true, cell: (a) => h('button', { type: 'button', class: 'btn small', onclick: () => edit(a) }, `Edit ${a.full_name || a.email}`) },
    ], accounts, { empty: 'No staff accounts.' }));
  }

  function status(a) {
    if (!a.active) return badge('sev-low', 'deactivated');
    if (!a.password_set) return a.invitation_expires_at ? badge('ad-fair', `invited, until ${when(a.invitation_expires_at)}`) : badge('ad-poor', 'invitation expired');
    return badge('ad-good', 'active');
  }

  function edit(account) {
    const name = h('input', { type: 'text', name: 'full_name', value: account.full_name || '', maxlength: 120, autocomplete: 'off' });
    const role = select('role', ROLES, account.role);
    const siteBoxes = group('sites', 'Sites', sites.map((s) => checkbox('sites', s.name && s.name !== s.code ? `${s.code} – ${s.name}` : s.code, { value: s.code, checked: account.sites.includes(s.code) })),
      { className: 'field checks', hint: 'Administrators see every site.' });
    const active = checkbox('active', 'Active (can sign in)', { checked: account.active });
    const reason = h('input', { type: 'text', name: 'reason', required: true, maxlength: 500, autocomplete: 'off' });
    const formStatus = h('div', { class: 'form-status' });
    const save = h('button', { type: 'submit', class: 'btn primary' }, 'Save changes');
    const linkButton = h('button', { type: 'button', class: 'btn' }, account.password_set ? 'Send a password reset link' : 'Send the invitation again');
    const mfaButton = account.mfa_enabled ? h('button', { type: 'button', class: 'btn' }, 'Reset two-step sign-in') : null;
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'edit-h' },
      h('h3', { id: 'edit-h', class: 'span', tabindex: -1 }, `Edit ${account.full_name || account.email}`),
      field('Full name', name, { hint: 'Printed with their signatures.' }),
      field('Role', role),
      h('div', { class: 'span' }, siteBoxes),
      h('div', { class: 'span' }, active),
      field('Reason for the change', reason, { hint: 'Kept in the audit trail.', className: 'field span' }),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, save, linkButton, mfaButton,
        h('button', { type: 'button', class: 'btn', onclick: () => put(panel) }, 'Close'))));
    put(panel, form);
    form.querySelector('h3').focus();

    linkButton.addEventListener('click', () => busy(linkButton, async () => {
      try {
        const sent = await send('POST', `/staff/accounts/${account.id}/link`);
        put(formStatus, linkNotice(sent));
        loadAll();
      } catch (error) {
        put(formStatus, showError(form, error, 'The link could not be sent.'));
      }
    }));
    if (mfaButton) {
      mfaButton.addEventListener('click', () => busy(mfaButton, async () => {
        if (!reason.value.trim()) {
          put(formStatus, notice('error', 'Give the reason first (for example: phone lost).'));
          reason.focus();
          return;
        }
        try {
          await send('POST', `/staff/accounts/${account.id}/second-factor-reset`, { reason: reason.value.trim() });
          put(formStatus, notice('done', 'Two-step sign-in is reset: their sessions ended, and they set it up again at their next sign-in.'));
          loadAll();
        } catch (error) {
          put(formStatus, showError(form, error, 'Two-step sign-in could not be reset.'));
        }
      }));
    }

    async function onsubmit(event) {
      event.preventDefault();
      const body = { reason: reason.value.trim() };
      const fullName = name.value.trim();
      if (fullName !== (account.full_name || '')) body.full_name = fullName;
      if (role.value !== account.role) body.role = role.value;
      const chosen = [...form.querySelectorAll('input[name="sites"]:checked')].map((x) => x.value);
      if (chosen.join() !== account.sites.join()) body.sites = chosen;
      const isActive = form.querySelector('input[name="active"]').checked;
      if (isActive !== account.active) body.active = isActive;
      await busy(save, async () => {
        try {
          const saved = await send('PATCH', `/staff/accounts/${account.id}`, body);
          put(panel, notice('done', `Saved: ${saved.full_name || saved.email}, ${roleName(saved.role)}${saved.active ? '' : ', deactivated (their sessions have ended)'}.`));
          loadAll();
        } catch (error) {
          put(formStatus, showError(form, error, 'The account could not be saved.'));
        }
      });
    }
  }

  function linkNotice(result) {
    const what = result.link.purpose === 'invitation' ? 'invitation' : 'password reset link';
    return result.link.sent
      ? notice('done', `The ${what} was mailed to ${result.email}. It works once, until ${when(result.link.expires_at)}.`)
      : notice('error', `The ${what} could not be mailed to ${result.email} (the mail server did not take it). Send it again in a moment.`);
  }

  function inviteForm() {
    const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off', spellcheck: 'false' });
    const name = h('input', { type: 'text', name: 'full_name', required: true, maxlength: 120, autocomplete: 'off' });
    const role = select('role', ROLES, 'coordinator');
    const reason = h('input', { type: 'text', name: 'reason', maxlength: 500, autocomplete: 'off' });
    const siteList = h('div');
    const formStatus = h('div', { class: 'form-status' });
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Send the invitation');
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'invite-h' },
      h('h3', { id: 'invite-h', class: 'span' }, 'Invite a staff member'),
      field('E-mail', email),
      field('Full name', name, { hint: 'As printed with their signatures.' }),
      field('Role', role),
      h('div', { class: 'span' }, siteList),
      field('Why (optional)', reason, { hint: 'Kept in the audit trail, e.g. new study nurse.', className: 'field span' }),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit)));
    form.refreshSites = () => put(siteList, group('sites', 'Sites',
      sites.map((s) => checkbox('sites', s.name && s.name !== s.code ? `${s.code} – ${s.name}` : s.code, { value: s.code })),
      { className: 'field checks', hint: 'Where they work. Administrators see every site.' }));
    return form;

    async function onsubmit(event) {
      event.preventDefault();
      const body = {
        email: email.value.trim(), full_name: name.value.trim(), role: role.value,
        sites: [...form.querySelectorAll('input[name="sites"]:checked')].map((x) => x.value),
      };
      if (reason.value.trim()) body.reason = reason.value.trim();
      await busy(submit, async () => {
        try {
          const made = await send('POST', '/staff/accounts', body);
          form.reset();
          put(formStatus, linkNotice(made));
          loadAll();
        } catch (error) {
          put(formStatus, showError(form, error, 'The invitation could not be sent.'));
        }
      });
    }
  }

  function showSites() {
    invite.refreshSites();
    put(sitesBox, table({ text: 'Sites', hidden: true }, [
      { title: 'Code', cell: (s) => s.code },
      { title: 'Name', cell: (s) => s.name },
      { title: 'Time zone', cell: (s) => s.timezone },
      { title: 'Phone for participants', cell: (s) => s.phone || h('span', { class: 'muted' }, 'none: the study team contact is shown') },
      { title: 'Action', bare: true, cell: (s) => h('button', { type: 'button', class: 'btn small', onclick: () => editSite(s) }, `Edit site ${s.code}`) },
    ], sites, { empty: 'No sites yet.' }));
  }

  function siteFields(site = {}) {
    return [
      field('Name', h('input', { type: 'text', name: 'name', value: site.name || '', maxlength: 120, autocomplete: 'off' })),
      zoneChooser(site.timezone || 'America/Chicago', { hint: 'The default for its participants.' }).el,
      field('Phone participants call', h('input', { type: 'tel', name: 'phone', value: site.phone || '', maxlength: 40, autocomplete: 'off', placeholder: '+1 312 555 0100' }),
        { hint: 'Shown as a call button in a participant\'s urgent-symptom advice.' }),
    ];
  }

  function editSite(site) {
    const formStatus = h('div', { class: 'form-status' });
    const save = h('button', { type: 'submit', class: 'btn primary' }, 'Save the site');
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'site-edit-h' },
      h('h3', { id: 'site-edit-h', class: 'span', tabindex: -1 }, `Edit site ${site.code}`),
      ...siteFields(site),
      field('Reason for the change', h('input', { type: 'text', name: 'reason', required: true, maxlength: 500, autocomplete: 'off' }), { className: 'field span' }),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, save, h('button', { type: 'button', class: 'btn', onclick: () => put(sitePanel) }, 'Close'))));
    put(sitePanel, form);
    form.querySelector('h3').focus();

    async function onsubmit(event) {
      event.preventDefault();
      const v = Object.fromEntries(new FormData(form));
      const body = { reason: v.reason.trim() };
      if (v.name.trim() && v.name.trim() !== site.name) body.name = v.name.trim();
      if (v.timezone !== site.timezone) body.timezone = v.timezone;
      const phone = v.phone.trim() || null;
      if (phone !== (site.phone || null)) body.phone = phone;
      await busy(save, async () => {
        try {
          const saved = await send('PATCH', `/staff/sites/${encodeURIComponent(site.code)}`, body);
          put(sitePanel, notice('done', `Site ${saved.code} saved.`));
          await ctx.loadSites();
          loadAll();
        } catch (error) {
          put(formStatus, showError(form, error, 'The site could not be saved.'));
        }
      });
    }
  }

  function siteForm() {
    const formStatus = h('div', { class: 'form-status' });
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Add the site');
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'site-add-h' },
      h('h3', { id: 'site-add-h', class: 'span' }, 'Add a site'),
      field('Site code', h('input', { type: 'text', name: 'code', required: true, maxlength: 40, autocomplete: 'off', spellcheck: 'false', placeholder: 'CHI-01' })),
      ...siteFields(),
      field('Why (optional)', h('input', { type: 'text', name: 'reason', maxlength: 500, autocomplete: 'off' }),
        { hint: 'Kept in the audit trail.', className: 'field span' }),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit)));
    return form;

    async function onsubmit(event) {
      event.preventDefault();
      const v = Object.fromEntries(new FormData(form));
      const body = { code: v.code.trim(), timezone: v.timezone };
      if (v.name.trim()) body.name = v.name.trim();
      if (v.phone.trim()) body.phone = v.phone.trim();
      if (v.reason.trim()) body.reason = v.reason.trim();
      await busy(submit, async () => {
        try {
          const made = await send('POST', '/staff/sites', body);
          for (const name of ['code', 'name', 'phone', 'reason']) form.elements.namedItem(name).value = '';
          put(formStatus, notice('done', `Site ${made.code} added.`));
          await ctx.loadSites();
          loadAll();
        } catch (error) {
          put(formStatus, showError(form, error, 'The site could not be added.'));
        }
      });
    }
  }
}

export default { title: 'Staff and sites', render };
