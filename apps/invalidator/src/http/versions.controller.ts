import { Controller, Get, Headers, HttpStatus, Res } from '@nestjs/common';
import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { VersionRepository, globalVersionString } from '@invalidator/versioning';

/** What web servers read to build their cache keys; MySQL is the source of truth. */
@Controller('versions')
export class VersionsController {
  constructor(private readonly versions: VersionRepository) {}

  @Get()
  async list(@Headers('if-none-match') ifNoneMatch: string | undefined, @Res() res: Response) {
    const rows = await this.versions.readAll();
    const body = {
      global: globalVersionString(rows),
      versions: Object.fromEntries(
        rows.map((r) => [
          r.dataType,
          { version: Number(r.version), hash: r.hash, updatedAt: r.updatedAt.toISOString() },
        ]),
      ),
    };
    const etag = `"${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag)) {
      res.status(HttpStatus.NOT_MODIFIED).end();
      return;
    }
    res.status(HttpStatus.OK).json(body);
  }
}
