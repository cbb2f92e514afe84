// A participant's sign-off (SPEC §14): the lock banner, Lock and Unlock with a
// reason, and the casebook's signatures with "Sign casebook up to [date]".
import { get, send } from '../../../js/api.js';
import { announce, h, notice } from '../../../js/dom.js';
import { localDate } from '../../../js/dates.js';
import { utc } from '../labels.js';
import { reasonForm, signForm, signatureState, stateOf } from '../signoff.js';
import { put, showError } from '../ui.js';

/** The banner of a locked participant (or a frozen study); null when writable. */
export function lockBanner(lock) {
  if (!lock) return null;
  const who = `${utc(lock.locked_at)}${lock.locked_by ? ` by ${lock.locked_by}` : ''}${lock.reason ? `. Reason: ${lock.reason}` : ''}`;
  return h('div', { class: 'notice waiting lock-banner', role: 'status' },
    h('strong', {}, lock.scope === 'study' ? 'The study is frozen for a data cut. ' : 'This participant’s data is locked. '),
    `No diary data can be written until it is ${lock.scope === 'study' ? 'lifted' : 'unlocked'}. ${lock.scope === 'study' ? 'Frozen' : 'Locked'} ${who}`);
}

/**
 * The sign-off card's content. page: {ctx, path, studyId, person(), changed(updated, message)}.
 */
export function casebookSection(target, page) {
  const { ctx, path, studyId } = page;
  const area = h('div');
  const sigs = h('div', {}, h('p', { class: 'loading' }, 'Loading signatures…'));
  const close = () => area.replaceChildren();
  draw();
  return { draw };

  function draw() {
    const person = page.person();
    const lock = person.lock;
    const participantLock = lock && lock.scope === 'participant';
    const actions = [
      !lock && ctx.can('participants.lock') ? h('button', { type: 'button', class: 'btn', onclick: () => open(lockForm('lock')) }, 'Lock…') : null,
      participantLock && ctx.can('participants.unlock') ? h('button', { type: 'button', class: 'btn', onclick: () => open(lockForm('unlock')) }, 'Unlock…') : null,
      ctx.can('signatures.sign') ? h('button', { type: 'button', class: 'btn', onclick: () => open(signForm({
        recordType: 'participant', recordId: studyId, title: `Sign the casebook of ${studyId}`,
        upTo: { max: localDate(person.timezone) }, onCancel: close, onSigned: () => loadSignatures(),
      })) }, 'Sign casebook…') : null,
    ].filter(Boolean);
    put(target, lockBanner(lock) || h('p', {}, 'Not locked: diary data can be written.'),
      h('h3', {}, 'Casebook signatures'), sigs,
      actions.length ? h('div', { class: 'actions' }, actions) : null, area);
    loadSignatures();
  }

  function open(form) {
    put(area, form);
    form.querySelector('input').focus();
  }

  async function loadSignatures() {
    try {
      const { signatures } = await get(`/staff/signatures?record_type=participant&record_id=${encodeURIComponent(studyId)}`);
      put(sigs, signatureState(stateOf(signatures), signatures));
    } catch (error) {
      put(sigs, showError(null, error, 'Could not load the casebook’s signatures.'));
    }
  }

  function lockForm(action) {
    const locking = action === 'lock';
    return reasonForm({
      title: locking ? `Lock the data of ${studyId}` : `Unlock the data of ${studyId}`,
      intro: locking ? 'While locked, nobody can change the diary, questionnaires or adverse events of this participant, and the app refuses new entries.'
        : 'Unlocking lets data be changed again; a casebook signature given while locked may then be invalidated by a change.',
      hint: locking ? 'E.g. “Casebook signed after the final visit.” Recorded in the audit trail with your name.' : 'E.g. “Late lab result to enter.” Recorded in the audit trail with your name.',
      submitText: locking ? 'Lock' : 'Unlock',
      onCancel: close,
      async onSubmit(reason) {
        const updated = await send('POST', `${path}/${action}`, { reason });
        const message = locking ? `The data of ${studyId} is locked.` : `The data of ${studyId} is unlocked.`;
        announce(message);
        page.changed(updated, message);
      },
    });
  }
}

/** The study freeze for admins: its state, and Freeze study / Lift freeze with a reason. */
export function freezeControl(ctx) {
  const box = h('section', { class: 'card freeze', 'aria-labelledby': 'freeze-h' }, h('h2', { id: 'freeze-h' }, 'Study freeze'));
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const status = h('div');
  box.append(status, body);
  load();
  return box;

  async function load() {
    let state;
    try {
      state = await get('/staff/study/freeze');
    } catch (error) {
      put(body, showError(null, error, 'Could not load the freeze state.'));
      return;
    }
    const area = h('div');
    const close = () => area.replaceChildren();
    const action = state.frozen ? 'unfreeze' : 'freeze';
    const button = ctx.can('study.freeze') ? h('button', { type: 'button', class: 'btn', onclick: () => {
      const form = reasonForm({
        title: state.frozen ? 'Lift the study freeze' : 'Freeze the study',
        intro: state.frozen ? 'Diary data can be written again at every site.' : 'Nobody can write diary data at any site until the freeze is lifted (for a data cut).',
        hint: 'Recorded in the audit trail with your name.',
        submitText: state.frozen ? 'Lift freeze' : 'Freeze study',
        onCancel: close,
        async onSubmit(reason) {
          await send('POST', `/staff/study/${action}`, { reason });
          const message = state.frozen ? 'The study freeze is lifted.' : 'The study is frozen.';
          put(status, notice('done', message));
          announce(message);
          load();
        },
      });
      put(area, form);
      form.querySelector('input').focus();
    } }, state.frozen ? 'Lift freeze…' : 'Freeze study…') : null;
    put(body,
      state.frozen
        ? h('p', { class: 'notice waiting' }, h('strong', {}, 'The study is frozen. '), `Since ${utc(state.frozen_at)}${state.frozen_by ? ` by ${state.frozen_by}` : ''}${state.reason ? `. Reason: ${state.reason}` : ''}`)
        : h('p', {}, 'Not frozen: diary data can be written.'),
      button ? h('div', { class: 'actions' }, button) : null, area);
  }
}
