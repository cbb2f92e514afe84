/* The diary's IndexedDB: the outbox of what waits to be sent (diary entries and
 * questionnaire answers, in one queue), a copy of the entries the server
 * accepted, and a copy of the participant's questionnaires (so the app shows
 * and fills them offline).
 *
 * A classic script, not a module: the page imports it for its side effect and
 * the (classic) service worker loads it with importScripts, so one piece of
 * code sends the outbox on start-up, on 'online' and from Background Sync.
 * Sending is safe to repeat: the server treats a replayed client_id as a no-op.
 */
(function (scope) {
  'use strict';

  var DB_NAME = 'participant-diary';
  var TIMEOUT_MS = 20000;
  var opening = null;

  function open() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB_NAME, 2);
        req.onupgradeneeded = function () {
          var names = req.result.objectStoreNames;
          if (!names.contains('outbox')) req.result.createObjectStore('outbox', { keyPath: 'client_id' });
          if (!names.contains('entries')) req.result.createObjectStore('entries', { keyPath: 'key' });
          if (!names.contains('questionnaires')) req.result.createObjectStore('questionnaires', { keyPath: 'key' });
        };
        req.onsuccess = function () {
          // A newer page (or worker) upgrading the database must not wait for this one.
          req.result.onversionchange = function () { req.result.close(); opening = null; };
          resolve(req.result);
        };
        req.onerror = function () { opening = null; reject(req.error); };
        // A tab or worker still on the old version holds the database open: it closes
        // when it updates (its successor handles versionchange); until then, say why.
        req.onblocked = function () {
          if (scope.document) scope.console.warn('diary storage: waiting for another tab of the diary to close');
        };
      });
    }
    return opening;
  }

  /* Run fn(transaction) and resolve with its return value (or an IDBRequest's
   * result) once the transaction has committed. */
  function tx(stores, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode);
        var out;
        t.oncomplete = function () { resolve(out instanceof IDBRequest ? out.result : out); };
        t.onerror = t.onabort = function () { reject(t.error); };
        out = fn(t);
      });
    });
  }

  function all(store, studyId) {
    return tx([store], 'readonly', function (t) { return t.objectStore(store).getAll(); })
      .then(function (rows) {
        return rows.filter(function (r) { return r.study_id === studyId; });
      });
  }

  /* Keep an entry on the phone until the server has it. An unsent record for
   * the same date is replaced: the server has never seen it. */
  function save(studyId, date, body) {
    var record = {
      client_id: body.client_id, study_id: studyId, date: date, body: body,
      saved_at: body.device_time, status: 'waiting', error: null,
    };
    return tx(['outbox'], 'readwrite', function (t) {
      var store = t.objectStore('outbox');
      store.getAll().onsuccess = function (e) {
        e.target.result.forEach(function (r) {
          if (r.study_id === studyId && r.date === date) store.delete(r.client_id);
        });
        store.put(record);
      };
      return record;
    });
  }

  /* The phone already showed red-flag advice for this entry: when the server
   * answers with the same advice later, do not show it a second time. */
  function markAdvised(clientId) {
    return tx(['outbox'], 'readwrite', function (t) {
      var store = t.objectStore('outbox');
      store.get(clientId).onsuccess = function (e) {
        if (e.target.result) { e.target.result.advised = true; store.put(e.target.result); }
      };
    });
  }

  /* Keep a questionnaire's answers on the phone until the server has them; an unsent
   * record for the same questionnaire is replaced. */
  function saveQuestionnaire(studyId, occurrenceId, body) {
    var record = {
      client_id: body.client_id, study_id: studyId, kind: 'questionnaire',
      occurrence_id: occurrenceId, url: '/api/v1/questionnaires/' + occurrenceId + '/response',
      body: body, saved_at: body.device_time, status: 'waiting', error: null,
    };
    return tx(['outbox'], 'readwrite', function (t) {
      var store = t.objectStore('outbox');
      store.getAll().onsuccess = function (e) {
        e.target.result.forEach(function (r) {
          if (r.study_id === studyId && r.kind === 'questionnaire' && r.occurrence_id === occurrenceId) {
            store.delete(r.client_id);
          }
        });
        store.put(record);
      };
      return record;
    });
  }

  /* The participant's questionnaires as the server last sent them (each with its
   * FHIR Questionnaire), replacing the phone's copy. */
  function cacheQuestionnaires(studyId, list) {
    return tx(['questionnaires'], 'readwrite', function (t) {
      var store = t.objectStore('questionnaires');
      store.getAll().onsuccess = function (e) {
        e.target.result.forEach(function (row) {
          if (row.study_id === studyId) store.delete(row.key);
        });
        list.forEach(function (q) {
          store.put({ key: studyId + '|' + q.id, study_id: studyId, questionnaire: q });
        });
      };
    });
  }

  function keepQuestionnaire(t, studyId, q) {
    t.objectStore('questionnaires').put({ key: studyId + '|' + q.id, study_id: studyId, questionnaire: q });
  }

  function remove(clientId) {
    return tx(['outbox'], 'readwrite', function (t) { t.objectStore('outbox').delete(clientId); });
  }

  function cacheEntries(studyId, entries) {
    return tx(['entries'], 'readwrite', function (t) {
      var store = t.objectStore('entries');
      entries.forEach(function (entry) {
        store.put({ key: studyId + '|' + entry.date, study_id: studyId, date: entry.date, entry: entry });
      });
    });
  }

  /* Red-flag advice that came back with an entry sent in the background,
   * handed out once so the page can show it. */
  function takeAlerts(studyId) {
    return tx(['entries'], 'readwrite', function (t) {
      var store = t.objectStore('entries');
      var found = [];
      store.getAll().onsuccess = function (e) {
        e.target.result.forEach(function (row) {
          if (row.study_id === studyId && row.alerts_pending) {
            found.push.apply(found, row.entry.alerts || []);
            row.alerts_pending = false;
            store.put(row);
          }
        });
      };
      return found;
    });
  }

  function request(method, url, csrf, body) {
    var abort = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = abort && setTimeout(function () { abort.abort(); }, TIMEOUT_MS);
    var headers = { Accept: 'application/json' };
    if (csrf) { headers['X-CSRF-Token'] = csrf; headers['Content-Type'] = 'application/json'; }
    return fetch(url, {
      method: method, headers: headers, credentials: 'same-origin', cache: 'no-store',
      body: body ? JSON.stringify(body) : undefined, signal: abort ? abort.signal : undefined,
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return { status: response.status, ok: response.ok, data: data };
      });
    }).finally(function () { if (timer) clearTimeout(timer); });
  }

  function session() {
    return request('GET', '/api/v1/session').then(function (r) {
      if (!r.ok || !r.data) throw new Error('session ' + r.status);
      return r.data;
    });
  }

  function errorOf(r) {
    var e = (r.data && r.data.error) || {};
    return {
      status: r.status, code: e.code || 'error', fields: e.fields || null,
      message: e.message || 'The server did not accept this entry (' + r.status + ').',
    };
  }

  function settle(record, r) {
    return tx(['outbox', 'entries', 'questionnaires'], 'readwrite', function (t) {
      if (r.ok && record.kind === 'questionnaire') {
        t.objectStore('outbox').delete(record.client_id);
        keepQuestionnaire(t, record.study_id, r.data);
      } else if (r.ok) {
        var entry = r.data;
        t.objectStore('outbox').delete(record.client_id);
        t.objectStore('entries').put({
          key: record.study_id + '|' + entry.date, study_id: record.study_id, date: entry.date,
          entry: entry, alerts_pending: !record.advised && !!(entry.alerts && entry.alerts.length),
        });
      } else {
        record.status = 'refused';
        record.error = errorOf(r);
        record.report_due = { status: r.status, code: record.error.code };
        t.objectStore('outbox').put(record);
      }
    });
  }

  var REPORT_AFTER = 3;

  /* One more failed try of an item: it waits 1, 2, 4… minutes (at most 6 hours). */
  function backOff(record, r) {
    return tx(['outbox'], 'readwrite', function (t) {
      record.attempts = (record.attempts || 0) + 1;
      record.retry_at = Date.now() + Math.min(60000 * Math.pow(2, record.attempts - 1), 6 * 3600000);
      record.last_error = errorOf(r);
      if (record.attempts >= REPORT_AFTER && !record.reported) {
        record.report_due = { status: r.status, code: 'server_error' };
      }
      t.objectStore('outbox').put(record);
      return record.attempts;
    });
  }

  function reportDue(r) { return !!r.report_due && !r.reported; }

  /* Tell the server what could not be sent (no content of the entry). A report that
   * does not get through stays due and goes with the next flush: the phone says the
   * study team knows only once the server has it. */
  function report(csrf, record) {
    var due = record.report_due;
    var body = {
      client_id: record.client_id, kind: record.kind === 'questionnaire' ? 'questionnaire' : 'entry',
      status: due.status, code: String(due.code || 'error').toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 64),
    };
    if (record.kind === 'questionnaire') body.occurrence_id = record.occurrence_id;
    else body.date = record.date;
    return request('POST', '/api/v1/sync-problems', csrf, body).then(function (r) {
      if (!r.ok) return null;
      return tx(['outbox'], 'readwrite', function (t) {
        var store = t.objectStore('outbox');
        var got = store.get(record.client_id);
        got.onsuccess = function () {
          var now = got.result;
          if (!now) return; // removed meanwhile, or sent
          now.reported = true;
          delete now.report_due;
          store.put(now);
        };
      });
    }).catch(function () { return null; });
  }

  /* Every report still due, one after another. */
  function sendReports(csrf, studyId) {
    return all('outbox', studyId)
      .then(function (rows) {
        return rows.filter(reportDue).reduce(function (chain, rec) {
          return chain.then(function () { return report(csrf, rec); });
        }, Promise.resolve());
      });
  }

  function flushNow() {
    var result = { sent: 0, refused: 0, waiting: 0, offline: false, signedOut: false, entries: [] };
    return tx(['outbox'], 'readonly', function (t) { return t.objectStore('outbox').getAll(); })
      .then(function (rows) {
        var now = Date.now();
        // An item the server failed on waits its back-off; the others go now.
        var queue = rows.filter(function (r) { return r.status === 'waiting' && !(r.retry_at > now); })
          .sort(function (a, b) { return a.saved_at < b.saved_at ? -1 : 1; });
        result.waiting = queue.length;
        if (!queue.length && !rows.some(reportDue)) return result;
        return session().then(function (s) {
          var user = s.user;
          if (!user || user.kind !== 'participant') { result.signedOut = true; return result; }
          var csrf = s.csrf_token;
          var mine = queue.filter(function (r) { return r.study_id === user.study_id; });
          function next(i, retried) {
            if (i >= mine.length) return sendReports(csrf, user.study_id).then(function () { return result; });
            var rec = mine[i];
            var url = rec.url || '/api/v1/entries/' + rec.date;
            return request('PUT', url, csrf, rec.body).then(function (r) {
              var code = r.data && r.data.error && r.data.error.code;
              if (code === 'csrf_failed' && !retried) {
                return session().then(function (s2) { csrf = s2.csrf_token; return next(i, true); });
              }
              if (r.status === 401) { result.signedOut = true; return result; }
              // The study closed the diary (a lock or a data freeze): keep every entry
              // on the phone, unsent, in case it is reopened; refuse none of them.
              if (code === 'locked') { result.closed = true; return result; }
              // Rate limit: the whole phone waits and tries later.
              if (r.status === 429) return result;
              // A server error on this item: it waits its back-off and is tried again,
              // and the items after it go on (one item the server chokes on must never
              // hold every later entry on the phone).
              if (r.status >= 500 || r.status === 408) {
                return backOff(rec, r).then(function () {
                  result.retrying = (result.retrying || 0) + 1;
                  return next(i + 1, false);
                });
              }
              return settle(rec, r).then(function () {
                result.waiting -= 1;
                // Refused: parked on the phone, shown to the participant; the study team
                // hears of it (sendReports, once the queue is through).
                if (!r.ok) result.refused += 1;
                else if (rec.kind === 'questionnaire') result.questionnaires = (result.questionnaires || 0) + 1;
                else { result.sent += 1; result.entries.push(r.data); }
                return next(i + 1, false);
              });
            });
          }
          return next(0, false);
        });
      })
      .catch(function () { result.offline = true; return result; });
  }

  /* Send every waiting entry; one sender at a time across page and worker. */
  function flush() {
    var locks = scope.navigator && scope.navigator.locks;
    return locks ? locks.request('diary-outbox', flushNow) : flushNow();
  }

  scope.DiaryOutbox = {
    save: save,
    remove: remove,
    markAdvised: markAdvised,
    flush: flush,
    saveQuestionnaire: saveQuestionnaire,
    cacheQuestionnaires: cacheQuestionnaires,
    /* Diary entries waiting or refused (questionnaire answers are apart). */
    pending: function (studyId) {
      return all('outbox', studyId).then(function (rows) {
        return rows.filter(function (r) { return r.kind !== 'questionnaire'; });
      });
    },
    pendingQuestionnaires: function (studyId) {
      return all('outbox', studyId).then(function (rows) {
        return rows.filter(function (r) { return r.kind === 'questionnaire'; });
      });
    },
    questionnaires: function (studyId) {
      return all('questionnaires', studyId).then(function (rows) {
        return rows.map(function (r) { return r.questionnaire; });
      });
    },
    cached: function (studyId) {
      return all('entries', studyId).then(function (rows) { return rows.map(function (r) { return r.entry; }); });
    },
    cacheEntries: cacheEntries,
    takeAlerts: takeAlerts,
  };
})(globalThis);
