import {
  BadRequestException,
  Body,
  Controller,
  Headers,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  Ip,
  NotFoundException,
  Post,
  Res,
  UnauthorizedException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { idempotencyKey, manualBumpRequest } from '@invalidator/contracts';
import { InvalidatorMetrics } from '@invalidator/monitoring';
import { IdempotencyKeyReusedError, ManualBump, ManualBumpResult } from '@invalidator/invalidation';
import { AdminLockout } from './admin-lockout';
import { bearerToken, judgeAdminToken } from './admin-token';

/** Manual atomic bumps through the saga. Off (404) unless ADMIN_TOKEN is set: never open. */
@Controller('admin')
export class AdminController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly manualBump: ManualBump,
    private readonly metrics: InvalidatorMetrics,
    private readonly lockout: AdminLockout,
  ) {}

  @Post('versions/bump')
  @HttpCode(200)
  async bump(
    @Headers('authorization') authorization: string | undefined,
    @Headers('idempotency-key') presentedKey: string | undefined,
    @Body() body: unknown,
    @Ip() client: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ManualBumpResult> {
    const token = this.config.ADMIN_TOKEN;
    if (token === undefined) throw new NotFoundException();
    // A locked-out client is refused before its token is even looked at.
    const retryAfter = this.lockout.retryAfterSeconds(client);
    if (retryAfter > 0) {
      this.metrics.countAdminAccess('bump', 'locked_out');
      res.setHeader('Retry-After', String(retryAfter));
      throw new HttpException('too many bad tokens; retry later', HttpStatus.TOO_MANY_REQUESTS);
    }
    const judged = judgeAdminToken(token, bearerToken(authorization));
    if (judged !== 'ok') {
      this.metrics.countAdminAccess('bump', judged);
      this.lockout.recordFailure(client);
      throw new UnauthorizedException('a valid bearer token is required');
    }
    const request = manualBumpRequest.safeParse(body);
    if (!request.success) {
      this.metrics.countAdminAccess('bump', 'bad_request');
      throw new BadRequestException(
        request.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
      );
    }
    const key = idempotencyKey.safeParse(presentedKey);
    if (presentedKey !== undefined && !key.success) {
      this.metrics.countAdminAccess('bump', 'bad_request');
      throw new BadRequestException([`Idempotency-Key: ${key.error.issues[0].message}`]);
    }
    this.metrics.countAdminAccess('bump', 'ok');
    try {
      // Without a key of the caller's, one per request: the saga's own retries still bump once.
      return await this.manualBump.execute({
        dataTypes: request.data.types,
        actor: 'admin',
        idempotencyKey: key.data ?? randomUUID(),
      });
    } catch (error) {
      if (error instanceof IdempotencyKeyReusedError)
        throw new UnprocessableEntityException(error.message);
      throw error;
    }
  }
}
