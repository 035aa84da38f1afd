import { TwilioError } from '../../core/errors';
import type { Params } from '../../core/form';
import type { RecordingStatus, RecordingType } from '../../core/recordings';
import { isSid } from '../../core/sids';
import type { RecordingFilters } from '../../durable-objects/catalog/catalog-object';
import { readCreatedRange } from '../http/dates';
import type { Paging } from '../http/paging';
import { readPaging } from '../http/paging';

const STATUSES: readonly RecordingStatus[] = ['processing', 'completed', 'deleted', 'failed'];
const MEDIA_TYPES: readonly (RecordingType | 'data')[] = ['audio', 'video', 'data'];

/** A recordings list query: the catalog's filters, the paging, and the filters to repeat in page URLs. */
export interface RecordingListQuery extends RecordingFilters {
  paging: Paging;
  filters: [string, string][];
}

/**
 * Reads the filters of `GET /v1/Recordings` (all of them) or `GET /v1/Rooms/{RoomSid}/Recordings`
 * (`Status`, `SourceSid` and dates), in Twilio's names; a value outside Twilio's enums is 400.
 */
export function readRecordingQuery(params: Params, scope: 'account' | 'room'): RecordingListQuery {
  const names = ['Status', 'SourceSid', 'DateCreatedAfter', 'DateCreatedBefore', 'PageSize', 'Page', 'PageToken'];
  params.rejectUnknown(scope === 'account' ? [...names, 'GroupingSid', 'MediaType'] : names);
  const q: RecordingListQuery = { paging: readPaging(params), filters: [] };
  const status = params.get('Status');
  if (status !== undefined) {
    if (!STATUSES.includes(status as RecordingStatus)) throw new TwilioError(70002, `Status must be one of ${STATUSES.join(', ')}`);
    q.status = status as RecordingStatus;
    q.filters.push(['Status', status]);
  }
  const source = params.get('SourceSid');
  if (source !== undefined) {
    q.sourceSid = source;
    q.filters.push(['SourceSid', source]);
  }
  const grouping = params.getAll('GroupingSid');
  if (grouping.length) {
    for (const g of grouping) {
      if (!isSid(g, 'RM') && !isSid(g, 'PA')) throw new TwilioError(70002, 'GroupingSid must be a room (RM…) or participant (PA…) sid');
      q.filters.push(['GroupingSid', g]);
    }
    q.groupingSids = grouping;
  }
  const media = params.get('MediaType');
  if (media !== undefined) {
    if (!MEDIA_TYPES.includes(media as RecordingType)) throw new TwilioError(70002, `MediaType must be one of ${MEDIA_TYPES.join(', ')}`);
    q.mediaType = media as RecordingType | 'data';
    q.filters.push(['MediaType', media]);
  }
  const range = readCreatedRange(params);
  q.createdAfter = range.createdAfter;
  q.createdBefore = range.createdBefore;
  q.filters.push(...range.filters);
  return q;
}
